// `npm run liveness:eval -- [--recordings <dir>] [--labels <dir>] [--fps <n>] [--window <s>] [--set k=v…]`:
// replays `liveness:record` recordings against hand labels (tests/fixtures/liveness-labels/<clip>.json,
// `{"fps":30,"actions":{"neutral":[[a,b]],"blink":[…],…}}`, inclusive frame ranges) and prints, per
// action, the detection rate on its labelled ranges and the false triggers per minute on labelled
// neutral footage and on all the footage outside the action's own ranges (talking, other actions). Each range is judged as a challenge window would be: the baseline is the clip's
// labelled neutral frames before it (the newest `--neutral` of them).
import os from 'node:os';
import path from 'node:path';
import {
  ActionDetector,
  FACE_ACTIONS,
  DEFAULT_ACTION_DETECTOR_OPTIONS,
  type ActionDetectorOptions,
  type FaceAction,
} from '../liveness/action-detector.ts';
import { readLabelledRecordings, type Recording } from '../liveness/clip-files.ts';
import type { FaceFeatures } from '../liveness/face-actions.ts';
import { fail, failWith, parseCli } from './args.ts';

const USAGE = `usage: npm run liveness:eval -- [--recordings <dir>] [--labels <dir>] [--fps <n>] [--window <s>]
                                 [--neutral <frames>] [--slack <s>] [--set <option>=<value>]…
  --recordings  liveness:record output (default: ${path.join(os.tmpdir(), 'liveness-recordings')})
  --labels      <clip>.json labels (default: tests/fixtures/liveness-labels)
  --fps         analysis rate the frames are subsampled to (default 10, the live rate; 0: every frame)
  --window      neutral footage is cut into windows of this many seconds (default 3)
  --neutral     neutral frames (at the analysis rate) a baseline is the median of (default 10)
  --slack       seconds after a labelled range the detector may still complete it (default 0.5: a
                blink completes when the eyes reopen, usually just after the labelled closed frames)
  --verbose     print each labelled range with what fired in it
  --set         an ActionDetector option, e.g. --set turnYaw=0.06 (repeatable)`;

const args = parseCli(
  {
    recordings: { type: 'string' },
    labels: { type: 'string' },
    fps: { type: 'string' },
    window: { type: 'string' },
    neutral: { type: 'string' },
    slack: { type: 'string' },
    verbose: { type: 'boolean' },
    set: { type: 'string', multiple: true },
    help: { type: 'boolean' },
  },
  USAGE,
);
const recordingsDir = args.recordings ?? path.join(os.tmpdir(), 'liveness-recordings');
const labelsDir = args.labels ?? path.resolve('tests/fixtures/liveness-labels');
const analysisFps = Number(args.fps ?? 10);
const windowS = Number(args.window ?? 3);
const neutralCount = Number(args.neutral ?? 10);
const slackMs = Number(args.slack ?? 0.5) * 1000;
if (!(slackMs >= 0)) fail('--slack must be ≥ 0');
if (!(analysisFps >= 0)) fail('--fps must be ≥ 0');
if (!(windowS > 0)) fail('--window must be > 0');
if (!(Number.isInteger(neutralCount) && neutralCount >= 1)) fail('--neutral must be an integer ≥ 1');
const detectorOptions: Record<string, number> = {};
for (const pair of args.set ?? []) {
  const [key, value] = pair.split('=');
  if (!key || !(key in DEFAULT_ACTION_DETECTOR_OPTIONS) || value === undefined || value === '') {
    fail(
      `--set ${pair}: expected <option>=<number>, options: ${Object.keys(DEFAULT_ACTION_DETECTOR_OPTIONS).join(', ')}`,
    );
  }
  detectorOptions[key] = Number(value);
}
const options: ActionDetectorOptions = detectorOptions;
try {
  new ActionDetector(options);
} catch (error) {
  failWith(error, '--set');
}

/** The recording's frames at the analysis rate, each with its time in ms. */
function analysed(rec: Recording): { t: number; i: number; features: FaceFeatures | null }[] {
  const every = analysisFps > 0 ? Math.max(1, Math.round(rec.fps / analysisFps)) : 1;
  return rec.frames.filter((f) => f.i % every === 0).map((f) => ({ t: (f.i / rec.fps) * 1000, ...f }));
}

const clips = await readLabelledRecordings(labelsDir, recordingsDir).catch((error: unknown) =>
  failWith(error, 'liveness:eval'),
);

const ranges = new Map<
  FaceAction,
  { total: number; detected: number; noBaseline: number; fired: Map<FaceAction, number> }
>(FACE_ACTIONS.map((a) => [a, { total: 0, detected: 0, noBaseline: 0, fired: new Map() }]));
const falseTriggers = new Map<FaceAction, number>(FACE_ACTIONS.map((a) => [a, 0]));
let neutralMs = 0;
/** Everything the clips show (talking, other actions), per action outside its own labelled ranges. */
const talkingTriggers = new Map<FaceAction, number>(FACE_ACTIONS.map((a) => [a, 0]));
const talkingMs = new Map<FaceAction, number>(FACE_ACTIONS.map((a) => [a, 0]));
let noFaceFrames = 0;
let judgedFrames = 0;

for (const { name: clip, labels, recording: rec } of clips) {
  const frames = analysed(rec);
  // Label frame numbers → recording time (the labels may count frames at another rate).
  const toMs = (frame: number): number => (frame / labels.fps) * 1000;
  const inRanges = (t: number, rs: readonly [number, number][]): boolean =>
    rs.some(([a, b]) => t >= toMs(a) && t <= toMs(b));
  const neutralRanges = labels.actions.neutral ?? [];
  const neutralBefore = (t: number): FaceFeatures[] =>
    frames
      .filter((f) => f.t < t && f.features !== null && inRanges(f.t, neutralRanges))
      .slice(-neutralCount)
      .map((f) => f.features!);

  /** Runs a detector over frames [from, to] with the neutral frames before `from`; null without any. */
  const detect = (from: number, to: number): ReadonlySet<FaceAction> | null => {
    const neutral = neutralBefore(from);
    if (neutral.length === 0) return null;
    const detector = new ActionDetector(options);
    for (const f of neutral) detector.addNeutral(f);
    if (detector.begin() === null) return null;
    for (const f of frames) {
      if (f.t < from || f.t > to) continue;
      judgedFrames++;
      if (f.features === null) noFaceFrames++;
      else detector.observe(f.t, f.features);
    }
    return new Set(detector.detected.keys());
  };

  for (const action of FACE_ACTIONS) {
    const tally = ranges.get(action)!;
    for (const [a, b] of labels.actions[action] ?? []) {
      tally.total++;
      const fired = detect(toMs(a), toMs(b) + slackMs);
      if (fired === null) {
        if (args.verbose) console.log(`skip ${clip} ${action} [${a}, ${b}]: no neutral frames before`);
        tally.noBaseline++;
        continue;
      }
      if (fired.has(action)) tally.detected++;
      if (args.verbose) {
        const mark = fired.has(action) ? 'hit ' : 'MISS';
        console.log(`${mark} ${clip} ${action} [${a}, ${b}]: fired ${[...fired].join(' ') || 'nothing'}`);
      }
      for (const other of fired) tally.fired.set(other, (tally.fired.get(other) ?? 0) + 1);
    }
  }
  // Neutral footage in windows, each judged against the neutral frames before it.
  // The clip's first `--neutral` neutral frames only serve as a baseline.
  const firstJudged = frames.filter((f) => f.features !== null && inRanges(f.t, neutralRanges))[neutralCount]
    ?.t;
  for (const [a, b] of neutralRanges) {
    if (firstJudged === undefined) break;
    for (let from = Math.max(toMs(a), firstJudged); from < toMs(b); from += windowS * 1000) {
      const to = Math.min(toMs(b), from + windowS * 1000);
      const fired = detect(from, to);
      if (fired === null) continue;
      neutralMs += to - from;
      for (const action of fired) falseTriggers.set(action, falseTriggers.get(action)! + 1);
    }
  }
  // The whole clip in windows (what a replay shows): per action, the windows that hold none of its
  // labelled ranges, and how many of them it fired in.
  const last = frames.at(-1)?.t ?? 0;
  for (let from = firstJudged ?? Infinity; from < last; from += windowS * 1000) {
    const to = Math.min(last, from + windowS * 1000);
    const fired = detect(from, to);
    if (fired === null) continue;
    for (const action of FACE_ACTIONS) {
      const own = (labels.actions[action] ?? []).some(([a, b]) => toMs(a) <= to && toMs(b) >= from);
      if (own) continue;
      talkingMs.set(action, talkingMs.get(action)! + (to - from));
      if (fired.has(action)) talkingTriggers.set(action, talkingTriggers.get(action)! + 1);
    }
  }
}

const minutes = neutralMs / 60_000;
console.log(
  `${clips.length} labelled clips, analysed at ${analysisFps > 0 ? `${analysisFps} fps` : 'every frame'}, ` +
    `detector ${JSON.stringify({ ...DEFAULT_ACTION_DETECTOR_OPTIONS, ...detectorOptions })}`,
);
console.log(`${noFaceFrames} of ${judgedFrames} judged frames without a face (counted as showing nothing)`);
console.log(`neutral footage judged: ${(neutralMs / 1000).toFixed(1)} s in ${windowS} s windows\n`);
console.log('action        ranges  detected  rate    false/min  false/min talking  also fired in its ranges');
for (const action of FACE_ACTIONS) {
  const t = ranges.get(action)!;
  const judged = t.total - t.noBaseline;
  const rate = judged > 0 ? `${((100 * t.detected) / judged).toFixed(0)}%` : '—';
  const perMin = minutes > 0 ? (falseTriggers.get(action)! / minutes).toFixed(2) : '—';
  const talkingMin = talkingMs.get(action)! / 60_000;
  const talking =
    talkingMin > 0
      ? `${(talkingTriggers.get(action)! / talkingMin).toFixed(1)} (${(talkingMin * 60).toFixed(0)} s)`
      : '—';
  const others = [...t.fired]
    .filter(([a]) => a !== action)
    .map(([a, n]) => `${a}×${n}`)
    .join(' ');
  console.log(
    `${action.padEnd(12)}  ${String(judged).padStart(6)}  ${String(t.detected).padStart(8)}  ${rate.padStart(4)}  ` +
      `${perMin.padStart(9)}  ${talking.padStart(17)}  ${others}${t.noBaseline > 0 ? ` (${t.noBaseline} without neutral frames before)` : ''}`,
  );
}
