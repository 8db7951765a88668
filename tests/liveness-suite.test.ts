// The offline liveness suite on the five shared talking-head clips, against the targets:
// each clip is recorded as the server analyses it (ffmpeg → FaceTracker → landmark net) into a temp
// dir, then presented closed-loop to the live server's chained ChallengeJudge as a cooperative
// person and as replay, hand-held print (the clips' stills, the reference stills and LFW photos)
// and swap attacks (seed 1, 50 draws per clip, photo and
// presentation, N = 3 of smile, open_mouth, turn_left, turn_right; a genuine clip draws only from
// the actions it has labelled, N = min(3, labelled)). Targets: replay APCER ≤ 1%, print and swap
// APCER 0, genuine BPCER ≤ 5%. The table is printed; `npm run liveness:suite` gives the same one.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLabelledRecordings } from '../packages/core/src/liveness/clip-files.ts';
import { ClipRecorder, writeRecording } from '../packages/core/src/liveness/clip-recorder.ts';
import {
  formatSuite,
  runSuite,
  type PresentationKind,
  type PrintPhoto,
  type SuiteReport,
  type SuiteRow,
} from '../packages/core/src/liveness/suite.ts';
import { REPO_ROOT, lfwFile, sharedDataDir } from './support/shared-data.ts';

/** LFW photos for the print attack: DevTest people (name, image number), one every 40 pairs. */
const LFW_PHOTOS: [string, number][] = [
  ['Abdullah_Gul', 13],
  ['Antonio_Trillanes', 1],
  ['Charles_Taylor', 3],
  ['Donald_Rumsfeld', 41],
  ['George_Robertson', 12],
  ['Jacques_Chirac', 31],
];
/** The three reference stills and the LFW photos. */
const PHOTO_COUNT = 3 + LFW_PHOTOS.length;
const HAS_FFMPEG = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
const LABELS = path.join(REPO_ROOT, 'tests/fixtures/liveness-labels');
const CLIPS = readdirSync(LABELS)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

describe.skipIf(!HAS_FFMPEG)('liveness suite on the shared clips (closed loop, chained judge)', () => {
  let dir: string;
  let report: SuiteReport;
  let table: string;
  let features = { ms: 0, frames: 0 };
  const row = (kind: PresentationKind): SuiteRow => report.rows.find((r) => r.presentation === kind)!;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fv-liveness-suite-'));
    const clipsDir = path.join(sharedDataDir(), 'video', 'clips');
    const recorder = await ClipRecorder.open();
    try {
      for (const name of CLIPS) {
        const result = await recorder.record(path.join(clipsDir, `${name}.mp4`), name);
        await writeRecording(dir, result.recording);
        features = { ms: features.ms + result.featuresMs, frames: features.frames + result.featureFrames };
      }
    } finally {
      await recorder.close();
    }
    // Printed photos besides the clips' stills: the reference stills and LFW DevTest photos.
    const video = path.join(sharedDataDir(), 'video');
    const photoFiles = [
      ...['person-a_reference.jpg', 'person-a_still.jpg', 'person-b_reference.jpg'].map((f) =>
        path.join(video, f),
      ),
      ...LFW_PHOTOS.map(([name, image]) => lfwFile(name, image)),
    ];
    const photos: PrintPhoto[] = [];
    const photoRecorder = await ClipRecorder.open();
    try {
      for (const file of photoFiles) {
        const landmarks = await photoRecorder.photoLandmarks(file);
        if (landmarks) photos.push({ name: path.basename(file, '.jpg'), landmarks });
      }
    } finally {
      await photoRecorder.close();
    }
    expect(photos.map((p) => p.name)).toHaveLength(PHOTO_COUNT);
    const files = await readLabelledRecordings(LABELS, dir);
    report = runSuite(files, { seed: 1, draws: 50, challenges: 3 }, photos);
    table = formatSuite(report);
    console.log(
      `${table}\nliveness features (recorder): ` +
        `${((1000 * features.ms) / features.frames).toFixed(1)} µs per frame with a face`,
    );
  }, 90_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('records the five labelled clips and presents each one', () => {
    expect(CLIPS).toHaveLength(5);
    expect(report.clips).toBe(5);
    for (const kind of ['genuine', 'replay', 'print'] as const) {
      const clips = Object.keys(row(kind).perClip).filter((k) => !k.startsWith('photo:'));
      expect(clips.sort()).toEqual(CLIPS);
      expect(Object.values(row(kind).perClip).every((c) => c.draws === 50)).toBe(true);
    }
    // Print also holds up the reference stills and LFW photos, 50 draws each.
    expect(Object.keys(row('print').perClip).filter((k) => k.startsWith('photo:'))).toHaveLength(PHOTO_COUNT);
    expect(row('swap').draws).toBeGreaterThanOrEqual(250);
    expect(report.stopped).toBe(false);
    // Genuine sequences draw only from what a clip has labelled; attacks always N = 3.
    expect(Object.values(row('genuine').perClip).every((c) => c.n >= 1 && c.n <= 3)).toBe(true);
    expect(Object.values(row('replay').perClip).every((c) => c.n === 3)).toBe(true);
  });

  it('replay APCER ≤ 1%', () => {
    expect(row('replay').rate, table).toBeLessThanOrEqual(0.01);
  });

  it('print APCER = 0', () => {
    expect(row('print').rate, table).toBe(0);
  });

  it('swap APCER = 0', () => {
    expect(row('swap').rate, table).toBe(0);
  });

  it('genuine BPCER ≤ 5%', () => {
    expect(row('genuine').rate, table).toBeLessThanOrEqual(0.05);
  });

  it('reports the judge’s and the features’ CPU cost per frame', () => {
    expect(report.judge.frames).toBeGreaterThan(0);
    expect(report.judge.usPerFrame).toBeGreaterThan(0);
    expect(Number.isFinite(report.judge.usPerFrame)).toBe(true);
    expect(table).toMatch(/judge CPU: [\d.]+ µs per analysed frame/);
    expect(features.frames).toBeGreaterThan(0);
    expect(features.ms).toBeGreaterThan(0);
  });
});
