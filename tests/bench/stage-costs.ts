// Child process of bench:cpu: where one analysed frame's CPU goes, stage by stage. The stages run
// one frame at a time in this process, each timed with process.cpuUsage() (every thread of the
// process, so libvips's decode threads and ONNX Runtime count), over the clip's frames in a loop:
//   decode     a colour 320×240 JPEG to its luma (`decodeFrame`, the JPEG transport's decode)
//   ipc        the hand-off to a detect worker and back: the request with the frame (transferred, as
//              the pool sends it) and a real analysed frame back (crop transferred)
//   track      `analyseFrame` less the aligner: tracking, the cascade's confirmations and counts,
//              quality flags, liveness features
//   landmarks  the landmark net with its 112 px chip
//   crop       the aligned 62×47 crop (the similarity fit and the warp)
//   embed      the embedding net, one crop a run (batch 1) and per crop at batch 16
// With a gap, each frame waits that long after the last (100 ms: one session at 10 fps), so the stages
// run with caches as cold as a lone session leaves them; without one, back to back, as under load.
// Prints one JSON line: {"frames": N, "ms": {stage: median ms per frame over the rounds}}.
//   tsx tests/bench/stage-costs.ts <clip.y4m> [frames per round] [rounds] [gap ms]
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import {
  DEFAULT_MODEL_DIR,
  FaceVerifier,
  FaceTracker,
  analyseFrame,
  decodeFrame,
  normalizeCrop,
  type GrayImage,
} from '@fv/core';
import { encodeClip } from '../support/jpeg-load.ts';

const [clipPath, perRound = '300', roundsArg = '3', gapArg = '0'] = process.argv.slice(2);
if (!clipPath) {
  console.error('usage: stage-costs.ts <clip.y4m> [frames per round] [rounds] [gap ms]');
  process.exit(2);
}
const framesPerRound = Number(perRound);
const rounds = Number(roundsArg);
const gapMs = Number(gapArg);
const jpegs = await encodeClip(clipPath, 10);
const frames: GrayImage[] = [];
for (const jpeg of jpegs) frames.push(await decodeFrame(jpeg));

const verifier = await FaceVerifier.create({ modelDir: DEFAULT_MODEL_DIR });
const aligner = verifier.aligner;
if (!aligner) throw new Error('the served model has no aligner');
const detector = verifier.detector;

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};

/** The aligner's CPU, counted apart from the detector's: the landmark net with its chip, then the crop. */
let alignMs = 0;
let landmarkMs = 0;
const timed =
  <A extends unknown[], R>(f: (...args: A) => Promise<R>, add: (ms: number) => void) =>
  async (...args: A): Promise<R> => {
    const t = process.cpuUsage();
    const result = await f(...args);
    add(cpuMs(t));
    return result;
  };
aligner.landmarks = timed(aligner.landmarks.bind(aligner), (ms) => (landmarkMs += ms));
aligner.align = timed(aligner.align.bind(aligner), (ms) => (alignMs += ms));

// The hand-off's far side answers with a real analysed frame (the clip's first, analysed here once),
// its crop transferred as a detect worker's is.
const template = await analyseFrame(frames[0]!, new FaceTracker(detector), aligner);
const echo = new Worker(
  `const { parentPort, workerData } = require('node:worker_threads');
   parentPort.on('message', (r) => {
     const crop = new Uint8Array(workerData.crop);
     parentPort.postMessage({ id: r.id, ok: true, ...workerData, crop }, [crop.buffer]);
   });`,
  { eval: true, workerData: template },
);
const roundTrip = (frame: GrayImage, data: ArrayBuffer, id: number): Promise<unknown> =>
  new Promise((resolve) => {
    echo.once('message', resolve);
    echo.postMessage({ kind: 'detect', id, stream: 's', width: frame.width, height: frame.height, data }, [
      data,
    ]);
  });

async function round(): Promise<Record<string, number>> {
  const tracker = new FaceTracker(detector);
  const crops: Uint8Array[] = [];
  let decode = 0;
  let ipc = 0;
  let analyse = 0;
  alignMs = 0;
  landmarkMs = 0;
  for (let i = 0; i < framesPerRound; i++) {
    const k = i % frames.length;
    if (gapMs > 0) await sleep(gapMs);
    let t = process.cpuUsage();
    await decodeFrame(jpegs[k]!);
    decode += cpuMs(t);
    // A transferred buffer is gone from this thread: the copy to send is made outside the timing.
    const data = frames[k]!.data.slice().buffer;
    t = process.cpuUsage();
    await roundTrip(frames[k]!, data, i);
    ipc += cpuMs(t);
    t = process.cpuUsage();
    const result = await analyseFrame(frames[k]!, tracker, aligner);
    analyse += cpuMs(t);
    if (result.crop) crops.push(result.crop);
  }
  let t = process.cpuUsage();
  for (const crop of crops) await verifier.embedder.embed([normalizeCrop(crop)]);
  const embed1 = cpuMs(t) / Math.max(1, crops.length);
  t = process.cpuUsage();
  for (let i = 0; i + 16 <= crops.length; i += 16) {
    await verifier.embedder.embed(crops.slice(i, i + 16).map(normalizeCrop));
  }
  const embed16 = cpuMs(t) / Math.max(1, Math.floor(crops.length / 16) * 16);
  const n = framesPerRound;
  return {
    decode: decode / n,
    ipc: ipc / n,
    track: (analyse - alignMs) / n,
    landmarks: landmarkMs / n,
    crop: (alignMs - landmarkMs) / n,
    embed1,
    embed16,
    faces: crops.length / n,
  };
}

await round(); // warm-up: JIT, caches, the tracker's first acquisition
const results: Record<string, number>[] = [];
for (let r = 0; r < rounds; r++) results.push(await round());
const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = Object.fromEntries(Object.keys(results[0]!).map((k) => [k, median(results.map((r) => r[k]!))]));
console.log(JSON.stringify({ frames: framesPerRound, rounds, gapMs, ms }));
await echo.terminate();
await verifier.close();
