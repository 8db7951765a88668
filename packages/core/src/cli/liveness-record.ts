// `npm run liveness:record -- [--clips <dir>] [--out <dir>] [--model <dir>] [clip names…]`: runs the
// serving analysis (a FaceTracker per clip → the subject's box → the aligner's 68 landmarks) on every
// frame of the liveness clips and writes one JSON per clip with the per-frame analyses, so the
// liveness judge and `liveness:eval` can replay thousands of challenge draws in seconds.
import { spawn, execFile } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { FaceAligner } from '../align/face-aligner.ts';
import { FaceTracker } from '../detect/face-tracker.ts';
import { HaarDetector } from '../detect/haar-detector.ts';
import { extractFace } from '../face-analyzer.ts';
import { roundRect, type GrayImage } from '../image/gray-image.ts';
import type { RecordedFrame, Recording } from '../liveness/clip-files.ts';
import { faceFeatures } from '../liveness/face-actions.ts';
import { DEFAULT_MODEL_DIR, DEFAULT_MODEL_NAME } from '../model/default-model.ts';
import { cropChoiceOf } from './face-source.ts';
import { fail, failWith } from './args.ts';

const USAGE = `usage: npm run liveness:record -- [--clips <dir>] [--out <dir>] [--model <dir>] [clip…]
  --clips  folder of *.mp4 clips (default: $FV_DATA_DIR/video/clips, else ../shared/data/video/clips)
  --out    where <clip>.json recordings go (default: ${path.join(os.tmpdir(), 'liveness-recordings')})
  --model  model directory whose landmark net is used (default models/${DEFAULT_MODEL_NAME})
  clip…    clip names without .mp4 (default: every clip in --clips)`;

const run = promisify(execFile);

async function probe(file: string): Promise<{ width: number; height: number; fps: number }> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height,r_frame_rate',
    '-of',
    'json',
    file,
  ]);
  const stream = (
    JSON.parse(stdout) as { streams: { width: number; height: number; r_frame_rate: string }[] }
  ).streams[0];
  if (!stream) throw new Error('no video stream');
  const [num, den] = stream.r_frame_rate.split('/').map(Number);
  const fps = num && den ? num / den : NaN;
  if (!(stream.width > 0 && stream.height > 0 && fps > 0)) throw new Error('cannot read size / fps');
  return { width: stream.width, height: stream.height, fps };
}

/** Gray frames of a video file at its own size and rate, decoded by ffmpeg. */
async function* grayFrames(file: string, width: number, height: number): AsyncGenerator<GrayImage> {
  const ffmpeg = spawn('ffmpeg', ['-v', 'error', '-i', file, '-pix_fmt', 'gray', '-f', 'rawvideo', '-'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  ffmpeg.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => ffmpeg.on('close', resolve));
  const size = width * height;
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of ffmpeg.stdout as AsyncIterable<Buffer>) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= size) {
      yield { width, height, data: new Uint8Array(pending.subarray(0, size)) };
      pending = pending.subarray(size);
    }
  }
  const code = await exited;
  if (code !== 0) throw new Error(`ffmpeg exited with ${code}: ${stderr.trim()}`);
}

const round1 = (v: number): number => Math.round(v * 10) / 10;

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

const choice = await cropChoiceOf(modelDir);
if (!choice) fail(`${modelDir} has no aligned-crop landmark net`);
const aligner = await FaceAligner.load(modelDir, choice.spec).catch((error: unknown) => failWith(error));
const detector = await HaarDetector.create().catch((error: unknown) => failWith(error));
await mkdir(outDir, { recursive: true });
try {
  for (const name of names) {
    const file = path.join(clipsDir, `${name}.mp4`);
    const { width, height, fps } = await probe(file).catch((error: unknown) => failWith(error, file));
    const tracker = new FaceTracker(detector);
    const frames: RecordedFrame[] = [];
    const t0 = performance.now();
    for await (const image of grayFrames(file, width, height)) {
      const i = frames.length;
      const found = extractFace(tracker, image);
      if (!found) {
        frames.push({ i, faces: 0, box: null, features: null, landmarks: null });
        continue;
      }
      const [landmarks] = await aligner.landmarks(image, [found.box]);
      frames.push({
        i,
        faces: found.faceCount,
        box: roundRect(found.box),
        features: faceFeatures(landmarks!),
        landmarks: Array.from(landmarks!, round1),
      });
    }
    const recording: Recording = { clip: name, fps, width, height, model: path.basename(modelDir), frames };
    const out = path.join(outDir, `${name}.json`);
    await writeFile(out, JSON.stringify(recording));
    const withFace = frames.filter((f) => f.features !== null).length;
    console.log(
      `${name}: ${frames.length} frames (${width}×${height} @ ${fps.toFixed(2)} fps), ` +
        `${withFace} with a face, ${((performance.now() - t0) / 1000).toFixed(1)} s → ${out}`,
    );
  }
} finally {
  await aligner.close();
  detector.close();
}
