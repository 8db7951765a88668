// `npm run liveness:suite -- [--recordings <dir>] [--labels <dir>] [--seed <n>] …`: ISO/IEC 30107-3
// style figures for the liveness ChallengeJudge, offline and in virtual time (liveness/suite.ts). It
// replays `liveness:record` recordings closed-loop against the live server's chained judge, as bona
// fide (genuine) presentations assembled from the labelled ranges and as replay, hand-held print and
// swap attacks, for many seeded challenge draws, and prints the BPCER and the APCER per attack type
// with the failure reasons and the judge's CPU cost per analysed frame.
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FaceAction } from '../liveness/action-detector.ts';
import { DEFAULT_CHALLENGE_JUDGE_OPTIONS } from '../liveness/challenge-judge.ts';
import { readLabelledRecordings } from '../liveness/clip-files.ts';
import { ClipRecorder } from '../liveness/clip-recorder.ts';
import {
  formatSuite,
  JUDGEABLE_ACTIONS,
  runSuite,
  type PrintPhoto,
  type SuiteReport,
} from '../liveness/suite.ts';
import { failWith, parseCli } from './args.ts';

const USAGE = `usage: npm run liveness:suite -- [--recordings <dir>] [--labels <dir>] [--seed <n>] [--draws <n>]
                                  [--challenges <n>] [--actions <a,b,…>] [--window <s>] [--fps <n>]
                                  [--photo-distance <n>] [--settle <s>] [--min-answer <s>] [--max-seconds <s>] [--json <file>]
  --recordings   liveness:record output (default: ${path.join(os.tmpdir(), 'liveness-recordings')})
  --labels       <clip>.json labels (default: tests/fixtures/liveness-labels)
  --seed         PRNG seed of every draw (default 1)
  --draws        draws per clip and presentation type (default 50)
  --challenges   actions per challenge sequence, N (default 3; a genuine clip with fewer labelled
                 actions is judged with all it has)
  --actions      the action set challenges are drawn from (default ${JUDGEABLE_ACTIONS.join(',')}: blink is left
                 out, the landmark net cannot see it)
  --window       seconds per challenge window, after the judge's ${DEFAULT_CHALLENGE_JUDGE_OPTIONS.neutralMs / 1000} s neutral lead-in (default 4)
  --fps          analysis rate the recordings are subsampled to (default 10, the live rate)
  --photo-distance  the camera's distance from a hand-held photo, in face half-widths (default 5: a
                 life-size print ~35 cm away); nearer, its tilt looks more like a head turn
  --settle       seconds a genuine person's action goes on after its challenge passed, into the next
                 (chained) lead-in (default 0)
  --min-answer   seconds: labelled ranges shorter than this are not played as a genuine answer
                 (default 0.3: a held action, not a syllable)
  --photos       image files (comma-separated) also held up as hand-held prints, 50 draws each
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
    settle: { type: 'string' },
    'min-answer': { type: 'string' },
    photos: { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean' },
  },
  USAGE,
);
const recordingsDir = args.recordings ?? path.join(os.tmpdir(), 'liveness-recordings');
const labelsDir = args.labels ?? path.resolve('tests/fixtures/liveness-labels');
const files = await readLabelledRecordings(labelsDir, recordingsDir).catch((error: unknown) =>
  failWith(error, 'liveness:suite'),
);
// Photos for the print attack besides the clips' stills (e.g. reference stills, LFW photos).
const photos: PrintPhoto[] = [];
if (args.photos) {
  const recorder = await ClipRecorder.open().catch((error: unknown) => failWith(error));
  try {
    for (const file of args.photos.split(',').map((f) => f.trim())) {
      const landmarks = await recorder.photoLandmarks(file).catch((error: unknown) => failWith(error, file));
      if (landmarks === null) failWith(new Error('no face found'), file);
      photos.push({ name: path.basename(file, path.extname(file)), landmarks });
    }
  } finally {
    await recorder.close();
  }
}
let report: SuiteReport;
try {
  report = runSuite(
    files,
    {
      seed: Number(args.seed ?? 1),
      draws: Number(args.draws ?? 50),
      challenges: Number(args.challenges ?? 3),
      actions: (args.actions ?? JUDGEABLE_ACTIONS.join(',')).split(',').map((a) => a.trim() as FaceAction),
      windowMs: Number(args.window ?? 4) * 1000,
      analysisFps: Number(args.fps ?? 10),
      photoDistance: Number(args['photo-distance'] ?? 5),
      settleMs: Number(args.settle ?? 0) * 1000,
      minAnswerMs: Number(args['min-answer'] ?? 0.3) * 1000,
      maxMs: Number(args['max-seconds'] ?? 120) * 1000,
    },
    photos,
  );
} catch (error) {
  failWith(error);
}
console.log(formatSuite(report));

if (args.json) {
  const o = report.options;
  const out = {
    seed: o.seed,
    drawsPerClip: o.draws,
    challenges: o.challenges,
    actions: o.actions,
    leadInMs: o.leadInMs,
    windowMs: o.windowMs,
    analysisFps: o.analysisFps,
    photoDistance: o.photoDistance,
    settleMs: o.settleMs,
    minAnswerMs: o.minAnswerMs,
    judge: { ...DEFAULT_CHALLENGE_JUDGE_OPTIONS, neutralMs: o.leadInMs, chained: true },
    notes: report.notes,
    results: report.rows,
    judgeCost: report.judge,
  };
  await writeFile(args.json, `${JSON.stringify(out, null, 2)}\n`).catch((error: unknown) =>
    failWith(error, args.json),
  );
  console.log(`\nwrote ${args.json}`);
}
