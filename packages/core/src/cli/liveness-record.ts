// `npm run liveness:record -- [--clips <dir>] [--out <dir>] [--model <dir>] [clip names…]`: runs the
// serving analysis (liveness/clip-recorder.ts: a FaceTracker per clip → the subject's box → the
// aligner's 68 landmarks) on every frame of the liveness clips and writes one JSON per clip with the
// per-frame analyses, so the liveness judge and `liveness:eval` can replay thousands of challenge
// draws in seconds. Prints the liveness features' CPU cost per frame.
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ClipRecorder, writeRecording } from '../liveness/clip-recorder.ts';
import { DEFAULT_MODEL_DIR, DEFAULT_MODEL_NAME } from '../model/default-model.ts';
import { fail, failWith } from './args.ts';

const USAGE = `usage: npm run liveness:record -- [--clips <dir>] [--out <dir>] [--model <dir>] [clip…]
  --clips  folder of *.mp4 clips (default: $FV_DATA_DIR/video/clips, else ../shared/data/video/clips)
  --out    where <clip>.json recordings go (default: ${path.join(os.tmpdir(), 'liveness-recordings')})
  --model  model directory whose landmark net is used (default models/${DEFAULT_MODEL_NAME})
  clip…    clip names without .mp4 (default: every clip in --clips)`;

const { values: args, positionals } = (() => {
  try {
    return parseArgs({
      options: {
        clips: { type: 'string' },
        out: { type: 'string' },
        model: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
    process.exit(2);
  }
})();
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const clipsDir =
  args.clips ?? path.join(process.env['FV_DATA_DIR'] ?? path.resolve('../shared/data'), 'video', 'clips');
const outDir = args.out ?? path.join(os.tmpdir(), 'liveness-recordings');
const modelDir = args.model ?? DEFAULT_MODEL_DIR;
const names =
  positionals.length > 0
    ? positionals
    : (await readdir(clipsDir).catch((error: unknown) => failWith(error, clipsDir)))
        .filter((f) => f.endsWith('.mp4'))
        .map((f) => f.slice(0, -4))
        .sort();
if (names.length === 0) fail(`no .mp4 clips in ${clipsDir}`);

const recorder = await ClipRecorder.open(modelDir).catch((error: unknown) => failWith(error));
let featuresMs = 0;
let featureFrames = 0;
try {
  for (const name of names) {
    const file = path.join(clipsDir, `${name}.mp4`);
    const result = await recorder.record(file, name).catch((error: unknown) => failWith(error, file));
    const out = await writeRecording(outDir, result.recording).catch((error: unknown) =>
      failWith(error, outDir),
    );
    featuresMs += result.featuresMs;
    featureFrames += result.featureFrames;
    const { width, height, fps, frames } = result.recording;
    console.log(
      `${name}: ${frames.length} frames (${width}×${height} @ ${fps.toFixed(2)} fps), ` +
        `${result.featureFrames} with a face, ${(result.ms / 1000).toFixed(1)} s → ${out}`,
    );
  }
} finally {
  await recorder.close();
}
if (featureFrames > 0) {
  console.log(
    `liveness features (faceFeatures): ${((1000 * featuresMs) / featureFrames).toFixed(1)} µs per frame ` +
      `with a face (${featureFrames} frames)`,
  );
}
