// `npm run liveness:suite -- [--recordings <dir>] [--labels <dir>] [--seed <n>] …`: ISO/IEC 30107-3
// style figures for the liveness ChallengeJudge, offline and in virtual time. It replays
// `liveness:record` recordings as bona fide (genuine) presentations assembled from the labelled
// ranges, and as replay, hand-held print and swap attacks, for many seeded challenge draws, and
// prints the BPCER and the APCER per attack type with the failure reasons.
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FACE_ACTIONS, type FaceAction } from '../liveness/action-detector.ts';
import {
  DEFAULT_CHALLENGE_JUDGE_OPTIONS,
  type Challenge,
  type ChallengeFailure,
  type JudgedFrame,
} from '../liveness/challenge-judge.ts';
import { readLabelledRecordings, type Recording } from '../liveness/clip-files.ts';
import { faceFeatures } from '../liveness/face-actions.ts';
import {
  drawDistinct,
  framesInRanges,
  genuineTimeline,
  handHeldMotion,
  judgePresentation,
  posePhotoLandmarks,
  randomInt,
  rangesToMs,
  replayTimeline,
  rngFor,
  scheduleChallenges,
  wilson,
  windowAt,
  type LabelledClip,
  type PresentationResult,
  type Rng,
} from '../liveness/presentations.ts';
import { fail, failWith, parseCli } from './args.ts';

const JUDGEABLE: readonly FaceAction[] = ['smile', 'open_mouth', 'turn_left', 'turn_right'];

const USAGE = `usage: npm run liveness:suite -- [--recordings <dir>] [--labels <dir>] [--seed <n>] [--draws <n>]
                                  [--challenges <n>] [--actions <a,b,…>] [--window <s>] [--fps <n>]
                                  [--max-seconds <s>] [--json <file>]
  --recordings   liveness:record output (default: ${path.join(os.tmpdir(), 'liveness-recordings')})
  --labels       <clip>.json labels (default: tests/fixtures/liveness-labels)
  --seed         PRNG seed of every draw (default 1)
  --draws        draws per clip and presentation type (default 50)
  --challenges   actions per challenge sequence, N (default 3; a genuine clip with fewer labelled
                 actions is judged with all it has)
  --actions      the action set challenges are drawn from (default ${JUDGEABLE.join(',')}: blink is left
                 out, the landmark net cannot see it)
  --window       seconds per challenge window, after the judge's ${DEFAULT_CHALLENGE_JUDGE_OPTIONS.neutralMs / 1000} s neutral lead-in (default 4)
  --fps          analysis rate the recordings are subsampled to (default 10, the live rate)
  --photo-distance  the camera's distance from a hand-held photo, in face half-widths (default 5: a
                 life-size print ~35 cm away); nearer, its tilt looks more like a head turn
  --max-seconds  stop drawing after this much wall time (default 120)
  --json         also write the results to this file`;

const args = parseCli(
  {
    recordings: { type: 'string' },
    labels: { type: 'string' },
    seed: { type: 'string' },
    draws: { type: 'string' },
    challenges: { type: 'string' },
    actions: { type: 'string' },
    window: { type: 'string' },
    fps: { type: 'string' },
    'max-seconds': { type: 'string' },
    'photo-distance': { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean' },
  },
  USAGE,
);
const recordingsDir = args.recordings ?? path.join(os.tmpdir(), 'liveness-recordings');
const labelsDir = args.labels ?? path.resolve('tests/fixtures/liveness-labels');
const seed = Number(args.seed ?? 1);
const draws = Number(args.draws ?? 50);
const n = Number(args.challenges ?? 3);
const windowMs = Number(args.window ?? 4) * 1000;
const analysisFps = Number(args.fps ?? 10);
const maxMs = Number(args['max-seconds'] ?? 120) * 1000;
const photoDistance = Number(args['photo-distance'] ?? 5);
const leadInMs = DEFAULT_CHALLENGE_JUDGE_OPTIONS.neutralMs;
if (!Number.isSafeInteger(seed)) fail('--seed must be an integer');
if (!(Number.isInteger(draws) && draws >= 1)) fail('--draws must be an integer ≥ 1');
if (!(Number.isInteger(n) && n >= 1)) fail('--challenges must be an integer ≥ 1');
if (!(windowMs > 0)) fail('--window must be > 0');
if (!(analysisFps > 0)) fail('--fps must be > 0');
if (!(maxMs > 0)) fail('--max-seconds must be > 0');
if (!(photoDistance > 1)) fail('--photo-distance must be > 1');
const actionSet = (args.actions ?? JUDGEABLE.join(',')).split(',').map((a) => a.trim()) as FaceAction[];
for (const a of actionSet) {
  if (!FACE_ACTIONS.includes(a)) fail(`--actions: unknown action ${a} (known: ${FACE_ACTIONS.join(', ')})`);
}
if (new Set(actionSet).size !== actionSet.length) fail('--actions: an action is listed twice');
if (n > actionSet.length) fail(`--challenges ${n} > the ${actionSet.length} actions of --actions`);

interface Clip {
  readonly name: string;
  readonly rec: Recording;
  readonly labelled: LabelledClip;
  /** The challengeable actions the clip has labelled ranges of. */
  readonly available: FaceAction[];
  /** Labelled neutral frames with landmarks (the print's stills). */
  readonly stills: number[];
}

const clips: Clip[] = [];
const files = await readLabelledRecordings(labelsDir, recordingsDir).catch((error: unknown) =>
  failWith(error, 'liveness:suite'),
);
for (const { name, labels, recording: rec } of files) {
  const actions: Partial<Record<FaceAction, [number, number][]>> = {};
  for (const a of FACE_ACTIONS) actions[a] = rangesToMs(labels.actions[a] ?? [], labels.fps);
  const labelled: LabelledClip = {
    fps: rec.fps,
    frameCount: rec.frames.length,
    neutral: rangesToMs(labels.actions.neutral ?? [], labels.fps),
    actions,
  };
  const stills = framesInRanges(labelled.neutral, rec.fps, rec.frames.length).filter(
    (i) => rec.frames[i]!.landmarks !== null && rec.frames[i]!.faces === 1,
  );
  clips.push({
    name,
    rec,
    labelled,
    available: actionSet.filter((a) => (actions[a] ?? []).length > 0),
    stills,
  });
}

type Kind = 'genuine' | 'replay' | 'print' | 'swap';
const KINDS: readonly Kind[] = ['genuine', 'replay', 'print', 'swap'];

interface Tally {
  draws: number;
  passes: number;
  reasons: Partial<Record<ChallengeFailure, number>>;
  /** Failures by the challenged action they happened on. */
  failedOn: Partial<Record<FaceAction, number>>;
  perClip: Record<string, { draws: number; passes: number; n: number }>;
}
const tallies = new Map<Kind, Tally>(
  KINDS.map((k) => [k, { draws: 0, passes: 0, reasons: {}, failedOn: {}, perClip: {} }]),
);
const notes: string[] = [];

function record(kind: Kind, clip: string, sequenceLength: number, result: PresentationResult): void {
  const t = tallies.get(kind)!;
  t.draws++;
  const c = (t.perClip[clip] ??= { draws: 0, passes: 0, n: sequenceLength });
  c.draws++;
  if (result.passed) {
    t.passes++;
    c.passes++;
  } else if (result.reason) {
    t.reasons[result.reason] = (t.reasons[result.reason] ?? 0) + 1;
  }
  if (result.failedAction) t.failedOn[result.failedAction] = (t.failedOn[result.failedAction] ?? 0) + 1;
}

/** A recorded frame as the judge sees it. */
function judged(clip: Clip, t: number, frame: number, matched: boolean): JudgedFrame {
  const f = clip.rec.frames[frame]!;
  return { t, faceCount: f.faces, matched, features: f.features };
}

/** Frames of a hand-held photo of `clip`'s still `frame`, one per tick. */
function photoFrames(clip: Clip, frame: number, ticks: readonly number[], rng: Rng): JudgedFrame[] {
  const landmarks = clip.rec.frames[frame]!.landmarks!;
  const motion = handHeldMotion(rng);
  return ticks.map((t) => ({
    t,
    faceCount: 1,
    matched: true,
    features: faceFeatures(posePhotoLandmarks(landmarks, motion(t), photoDistance)),
  }));
}

function challengesFor(rng: Rng, pool: readonly FaceAction[], count: number): Challenge[] {
  return scheduleChallenges(drawDistinct(rng, pool, count), leadInMs, windowMs);
}

const started = performance.now();
let stopped = false;
const outOfTime = (): boolean => (stopped ||= performance.now() - started > maxMs);

for (const clip of clips) {
  // Bona fide: a cooperative person, from the clip's labelled neutral and action ranges.
  const count = Math.min(n, clip.available.length);
  if (count === 0 || clip.stills.length === 0) {
    notes.push(
      `genuine ${clip.name}: skipped (no labelled ${count === 0 ? 'challengeable action' : 'neutral'})`,
    );
  } else {
    if (count < n) {
      notes.push(
        `genuine ${clip.name}: N=${count}, not ${n} (labelled: ${clip.available.join(', ') || 'none'})`,
      );
    }
    const rng = rngFor(seed, `genuine:${clip.name}`);
    for (let d = 0; d < draws && !outOfTime(); d++) {
      const challenges = challengesFor(rng, clip.available, count);
      const timeline = genuineTimeline(clip.labelled, challenges, analysisFps, rng);
      const frames = timeline.map(({ t, frame }) => judged(clip, t, frame, true));
      record('genuine', clip.name, count, judgePresentation(challenges, frames));
    }
  }

  // Replay: the clip played unchanged from a random offset, whatever is asked.
  const replayRng = rngFor(seed, `replay:${clip.name}`);
  const durationMs = (clip.rec.frames.length / clip.rec.fps) * 1000;
  for (let d = 0; d < draws && !outOfTime(); d++) {
    const challenges = challengesFor(replayRng, actionSet, n);
    const offset = replayRng() * durationMs;
    const frames = replayTimeline(clip.rec.fps, clip.rec.frames.length, challenges, analysisFps, offset).map(
      ({ t, frame }) => judged(clip, t, frame, true),
    );
    record('replay', clip.name, n, judgePresentation(challenges, frames));
  }

  // Print: one neutral still, hand-held (pan, zoom, roll, tilt in perspective).
  if (clip.stills.length > 0) {
    const printRng = rngFor(seed, `print:${clip.name}`);
    for (let d = 0; d < draws && !outOfTime(); d++) {
      const challenges = challengesFor(printRng, actionSet, n);
      const still = clip.stills[randomInt(printRng, clip.stills.length)]!;
      const ticks = replayTimeline(1, 1, challenges, analysisFps, 0).map((f) => f.t);
      record('print', clip.name, n, judgePresentation(challenges, photoFrames(clip, still, ticks, printRng)));
    }
  }
}

// Swap: A's photo for the lead-ins (matches the reference), B's live, cooperative answers in the
// windows (a different person: matched false).
const pairs = clips.flatMap((a) =>
  clips
    .filter((b) => b !== a && a.stills.length > 0 && b.available.length > 0 && b.stills.length > 0)
    .map((b) => [a, b] as const),
);
for (const [a, b] of pairs) {
  const rng = rngFor(seed, `swap:${a.name}:${b.name}`);
  const count = Math.min(n, b.available.length);
  const perPair = Math.max(1, Math.ceil(draws / (clips.length - 1)));
  for (let d = 0; d < perPair && !outOfTime(); d++) {
    const challenges = challengesFor(rng, b.available, count);
    const live = genuineTimeline(b.labelled, challenges, analysisFps, rng);
    const still = a.stills[randomInt(rng, a.stills.length)]!;
    const photo = photoFrames(
      a,
      still,
      live.map((f) => f.t),
      rng,
    );
    const frames = live.map(({ t, frame }, k) =>
      windowAt(challenges, t) >= 0 ? judged(b, t, frame, false) : photo[k]!,
    );
    record('swap', `${a.name}→${b.name}`, count, judgePresentation(challenges, frames));
  }
}
if (stopped) notes.push(`stopped after --max-seconds ${maxMs / 1000}: fewer draws than asked`);

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
const rows = KINDS.map((kind) => {
  const t = tallies.get(kind)!;
  const rejected = t.draws - t.passes;
  const errors = kind === 'genuine' ? rejected : t.passes;
  const [lo, hi] = wilson(errors, t.draws);
  return {
    presentation: kind,
    metric: kind === 'genuine' ? 'BPCER' : 'APCER',
    draws: t.draws,
    passes: t.passes,
    rate: t.draws > 0 ? errors / t.draws : null,
    ci95: [lo, hi],
    reasons: t.reasons,
    failedOn: t.failedOn,
    perClip: t.perClip,
  };
});

console.log(
  `liveness suite: seed ${seed}, ${draws} draws per clip, N=${n} of [${actionSet.join(', ')}], ` +
    `${leadInMs / 1000} s lead-in + ${windowMs / 1000} s window, ${analysisFps} fps, ${clips.length} clips, ` +
    `photo at ${photoDistance} half-widths ` +
    `(${((performance.now() - started) / 1000).toFixed(1)} s)`,
);
for (const note of notes) console.log(`note: ${note}`);
console.log('');
console.log('| presentation | draws | passed | metric | rate   | 95% CI (Wilson) | failure reasons |');
console.log('| ------------ | ----- | ------ | ------ | ------ | --------------- | --------------- |');
for (const r of rows) {
  const reasons = Object.entries(r.reasons)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(
    `| ${r.presentation.padEnd(12)} | ${String(r.draws).padStart(5)} | ${String(r.passes).padStart(6)} | ` +
      `${r.metric}  | ${(r.rate === null ? '—' : pct(r.rate)).padStart(6)} | ` +
      `${`${pct(r.ci95[0]!)}–${pct(r.ci95[1]!)}`.padEnd(15)} | ${reasons || '—'} |`,
  );
}
console.log('');
for (const r of rows) {
  const perClip = Object.entries(r.perClip)
    .map(([clip, c]) => `${clip} ${c.passes}/${c.draws}${c.n !== n ? ` (N=${c.n})` : ''}`)
    .join(', ');
  const failedOn = Object.entries(r.failedOn)
    .map(([a, v]) => `${a} ${v}`)
    .join(', ');
  console.log(`${r.presentation} passed per clip: ${perClip || '—'}; failed on: ${failedOn || '—'}`);
}

if (args.json) {
  const out = {
    seed,
    drawsPerClip: draws,
    challenges: n,
    actions: actionSet,
    leadInMs,
    windowMs,
    analysisFps,
    photoDistance,
    notes,
    results: rows,
  };
  await writeFile(args.json, `${JSON.stringify(out, null, 2)}\n`).catch((error: unknown) =>
    failWith(error, args.json),
  );
  console.log(`\nwrote ${args.json}`);
}
