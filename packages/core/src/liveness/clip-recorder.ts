// Records a video clip as the server analyses it, for the offline liveness tools (`npm run
// liveness:record`, tests/liveness-suite.test.ts): ffmpeg decodes every frame to gray and core's
// analyseFrame (a tracking-first FaceTracker per clip, then alignment) gives the subject's box, its
// 68 landmarks and the liveness features, as the live pipeline does. Needs ffmpeg and ffprobe.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { alignedCropSpec, FaceAligner } from '../align/face-aligner.ts';
import { FaceTracker } from '../detect/face-tracker.ts';
import { HaarDetector } from '../detect/haar-detector.ts';
import { analyseFrame } from '../face-analyzer.ts';
import { decodeGray } from '../image/decode.ts';
import { roundRect, type GrayImage } from '../image/gray-image.ts';
import { DEFAULT_MODEL_DIR } from '../model/default-model.ts';
import type { RecordedFrame, Recording } from './clip-files.ts';
import { faceFeatures } from './face-actions.ts';

const run = promisify(execFile);

/** A video's first stream: size and frame rate (ffprobe). */
export async function probeVideo(file: string): Promise<{ width: number; height: number; fps: number }> {
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
  if (!stream) throw new Error(`${file}: no video stream`);
  const [num, den] = stream.r_frame_rate.split('/').map(Number);
  const fps = num && den ? num / den : NaN;
  if (!(stream.width > 0 && stream.height > 0 && fps > 0)) throw new Error(`${file}: cannot read size / fps`);
  return { width: stream.width, height: stream.height, fps };
}

/** Gray frames of a video file at its own size and rate, decoded by ffmpeg. */
export async function* grayFrames(file: string, width: number, height: number): AsyncGenerator<GrayImage> {
  const ffmpeg = spawn('ffmpeg', ['-v', 'error', '-i', file, '-pix_fmt', 'gray', '-f', 'rawvideo', '-'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  ffmpeg.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    ffmpeg.on('error', reject);
    ffmpeg.on('close', resolve);
  });
  const size = width * height;
  let pending: Buffer = Buffer.alloc(0);
  let drained = false;
  try {
    for await (const chunk of ffmpeg.stdout as AsyncIterable<Buffer>) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= size) {
        yield { width, height, data: new Uint8Array(pending.subarray(0, size)) };
        pending = pending.subarray(size);
      }
    }
    drained = true;
  } finally {
    // A consumer that stops early (or throws) must not leave ffmpeg running.
    if (!drained && ffmpeg.exitCode === null) ffmpeg.kill();
  }
  const code = await exited;
  if (code !== 0) throw new Error(`ffmpeg exited with ${code}: ${stderr.trim()}`);
}

/** A clip's recording and what it cost. */
export interface ClipRecordingResult {
  readonly recording: Recording;
  /** Wall time of the whole clip (decode, detection, landmarks), ms. */
  readonly ms: number;
  /** Time in faceFeatures() (the liveness features from the landmarks), ms, over `featureFrames`. */
  readonly featuresMs: number;
  /** Frames whose features were computed (those with a face). */
  readonly featureFrames: number;
}

const round1 = (v: number): number => Math.round(v * 10) / 10;

/**
 * The serving analysis of whole clips: one Haar detector and the model's landmark net, a fresh
 * FaceTracker per clip. `open()` loads them; `close()` releases them.
 */
export class ClipRecorder {
  readonly model: string;
  readonly #detector: HaarDetector;
  readonly #aligner: FaceAligner;

  private constructor(model: string, detector: HaarDetector, aligner: FaceAligner) {
    this.model = model;
    this.#detector = detector;
    this.#aligner = aligner;
  }

  /** Loads the landmark net of `modelDir` (a model with aligned crops) and the Haar detector. */
  static async open(modelDir: string = DEFAULT_MODEL_DIR): Promise<ClipRecorder> {
    const manifest = path.join(modelDir, 'manifest.json');
    const spec = existsSync(manifest)
      ? alignedCropSpec(
          (JSON.parse(await readFile(manifest, 'utf8')) as { preprocessing?: unknown }).preprocessing,
        )
      : undefined;
    if (!spec) throw new Error(`${modelDir} has no aligned-crop landmark net`);
    const aligner = await FaceAligner.load(modelDir, spec);
    try {
      return new ClipRecorder(path.basename(modelDir), await HaarDetector.create(), aligner);
    } catch (error) {
      await aligner.close();
      throw error;
    }
  }

  /** Every frame of the video `file`, analysed; `name` is the clip's (default: the file's base name). */
  async record(file: string, name = path.basename(file, path.extname(file))): Promise<ClipRecordingResult> {
    const { width, height, fps } = await probeVideo(file);
    const tracker = new FaceTracker(this.#detector);
    const frames: RecordedFrame[] = [];
    let featuresMs = 0;
    const t0 = performance.now();
    for await (const image of grayFrames(file, width, height)) {
      const i = frames.length;
      // What the live pipeline does with the frame (core's analyseFrame: tracking first, aligned).
      const analysed = await analyseFrame(image, tracker, this.#aligner);
      if (analysed.box === null || analysed.landmarks === null) {
        frames.push({ i, faces: 0, box: null, features: null, landmarks: null });
        continue;
      }
      const f0 = performance.now();
      const features = faceFeatures(analysed.landmarks);
      featuresMs += performance.now() - f0;
      frames.push({
        i,
        faces: analysed.faceCount,
        box: roundRect(analysed.box),
        features,
        landmarks: Array.from(analysed.landmarks, round1),
      });
    }
    if (frames.length === 0) throw new Error(`${file}: no frames decoded`);
    const recording: Recording = { clip: name, fps, width, height, model: this.model, frames };
    return {
      recording,
      ms: performance.now() - t0,
      featuresMs,
      featureFrames: frames.filter((f) => f.features !== null).length,
    };
  }

  /**
   * The 68 landmarks of the subject's face in a photo (an image file), as the print attack moves
   * them, or null when no face is found.
   */
  async photoLandmarks(file: string): Promise<Float32Array | null> {
    const image = await decodeGray(await readFile(file));
    const box = this.#detector.detect(image).faces[0];
    if (box === undefined) return null;
    const [landmarks] = await this.#aligner.landmarks(image, [box]);
    return landmarks ?? null;
  }

  async close(): Promise<void> {
    this.#detector.close();
    await this.#aligner.close();
  }
}

/** Writes a recording as `<dir>/<clip>.json` (what `readLabelledRecordings` reads); returns the path. */
export async function writeRecording(dir: string, recording: Recording): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${recording.clip}.json`);
  await writeFile(file, JSON.stringify(recording));
  return file;
}
