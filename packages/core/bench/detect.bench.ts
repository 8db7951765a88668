// `npm run bench:detect`: Haar detection cost of the serving detector (OpenCV.js, WASM) on the same
// frames the native-vs-WASM comparison used: the shared 320×240 webcam clips, the same frames
// upscaled to 640×480, and LFW portraits. Medians of several passes; faces found per set.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { HaarDetector, decodeGray, parseY4m, resampleRegion, type GrayImage } from '../src/index.ts';

const dataDir = process.env['FV_DATA_DIR'] ?? path.resolve('../shared/data');
const PASSES = Number(process.env['BENCH_RUNS'] ?? 5);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const clip = (name: string): GrayImage[] =>
  parseY4m(readFileSync(path.join(dataDir, 'video', name))).frames.filter((_, i) => i % 3 === 0);
const frames320 = [...clip('person-a_320x240_3s.y4m'), ...clip('person-b_320x240_3s.y4m')];
const frames640 = frames320.map((f) => ({
  width: 640,
  height: 480,
  data: resampleRegion(f, { x: 0, y: 0, width: f.width, height: f.height }, 640, 480),
}));
const lfwRoot = path.join(dataDir, 'lfw');
const lfw: GrayImage[] = [];
for (const person of readdirSync(lfwRoot)
  .sort()
  .filter((_, i) => i % 115 === 0)) {
  const file = readdirSync(path.join(lfwRoot, person)).sort()[0]!;
  lfw.push(await decodeGray(readFileSync(path.join(lfwRoot, person, file))));
}

console.log(
  `OpenCV.js (WASM) Haar, ${PASSES} passes, median ms per frame (detect call incl. pad+downscale / cascade only)`,
);
console.log('set                          frames  with face  faces   ms/frame  cascade ms');
for (const [label, set, options] of [
  ['webcam 320×240 (padded)', frames320, {}],
  ['webcam 320×240 (no pad)', frames320, { padRatio: 0 }],
  ['webcam 640×480 (padded)', frames640, {}],
  ['webcam 640×480 full res', frames640, { padRatio: 0, maxDetectSide: 640 }],
  ['LFW 250×250 (padded)', lfw, {}],
] as const) {
  const detector = await HaarDetector.create(options);
  for (const f of set.slice(0, 3)) detector.detect(f); // warm-up
  const totals: number[] = [];
  const cascades: number[] = [];
  let withFace = 0;
  let faces = 0;
  for (let pass = 0; pass < PASSES; pass++) {
    let total = 0;
    let cascade = 0;
    withFace = 0;
    faces = 0;
    for (const f of set) {
      const t0 = performance.now();
      const d = detector.detect(f);
      total += performance.now() - t0;
      cascade += d.cascadeMs;
      if (d.faces.length > 0) withFace++;
      faces += d.faces.length;
    }
    totals.push(total / set.length);
    cascades.push(cascade / set.length);
  }
  detector.close();
  console.log(
    `${label.padEnd(28)} ${String(set.length).padStart(6)}  ${String(withFace).padStart(9)}  ${String(faces).padStart(5)}  ${median(totals).toFixed(1).padStart(8)}  ${median(cascades).toFixed(1).padStart(10)}`,
  );
}
