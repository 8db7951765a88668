// `npm run bench:align -- <box-crop model dir> <aligned model dir>`: what landmark alignment costs
// per face, measured in one run with rounds interleaved (one thread, real LFW faces, Haar boxes
// found beforehand). Rows: each model's embedding alone (batch 1 and 8), the aligner alone (landmark
// net + warp, one face per call as in the live path), and crop → embed per face for each model (box
// crop vs aligned crop). Prints medians of BENCH_RUNS rounds × BENCH_SECONDS. Never run in CI.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import {
  DEFAULT_MODEL_NAME,
  Embedder,
  FaceAligner,
  HaarDetector,
  alignedCropSpec,
  cropFace,
  decodeGray,
  normalizeCrop,
  type GrayImage,
  type Rect,
} from '../src/index.ts';

const [boxDir = 'models/siamese-v1', alignedDir = `models/${DEFAULT_MODEL_NAME}`] = process.argv.slice(2);
const ROUNDS = Number(process.env['BENCH_RUNS'] ?? 9);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 1);
const LFW = process.env['LFW_DIR'] ?? path.resolve('../shared/data/lfw');
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const boxModel = await Embedder.load(path.resolve(boxDir), { intraOpThreads: 1 });
const alignedModel = await Embedder.load(path.resolve(alignedDir), { intraOpThreads: 1 });
const spec = alignedCropSpec(alignedModel.manifest['preprocessing']);
if (!spec) throw new Error(`${alignedDir} does not take aligned crops`);
const aligner = await FaceAligner.load(path.resolve(alignedDir), spec, { threads: 1 });

// 32 real faces: the first image of every 40th LFW person, with its Haar box.
const detector = await HaarDetector.create();
const faces: { image: GrayImage; box: Rect }[] = [];
const people = (await readdir(LFW)).sort();
for (let i = 0; i < people.length && faces.length < 32; i += 40) {
  const first = (await readdir(path.join(LFW, people[i]!))).sort()[0]!;
  const image = await decodeGray(await readFile(path.join(LFW, people[i]!, first)));
  const box = detector.detect(image).faces[0];
  if (box) faces.push({ image, box });
}
detector.close();

let cursor = 0;
const next = (): { image: GrayImage; box: Rect } => faces[cursor++ % faces.length]!;
const crops8 = faces.slice(0, 8).map((f) => normalizeCrop(cropFace(f.image, f.box)));
const cases: [string, () => Promise<number>][] = [
  [`embed only, batch 1: ${path.basename(boxDir)}`, async () => (await boxModel.embed([crops8[0]!]), 1)],
  [
    `embed only, batch 1: ${path.basename(alignedDir)}`,
    async () => (await alignedModel.embed([crops8[0]!]), 1),
  ],
  [`embed only, batch 8: ${path.basename(boxDir)}`, async () => (await boxModel.embed(crops8), 8)],
  [`embed only, batch 8: ${path.basename(alignedDir)}`, async () => (await alignedModel.embed(crops8), 8)],
  [
    'aligner only (landmarks + warp)',
    async () => {
      const f = next();
      await aligner.align(f.image, [f.box]);
      return 1;
    },
  ],
  [
    `box crop → embed: ${path.basename(boxDir)}`,
    async () => {
      const f = next();
      await boxModel.embed([normalizeCrop(cropFace(f.image, f.box))]);
      return 1;
    },
  ],
  [
    `aligned crop → embed: ${path.basename(alignedDir)}`,
    async () => {
      const f = next();
      const [a] = await aligner.align(f.image, [f.box]);
      await alignedModel.embed([normalizeCrop(a!.crop)]);
      return 1;
    },
  ],
];

for (const [, run] of cases) await run(); // warm-up
const rates = cases.map(() => [] as number[]);
for (let r = 0; r < ROUNDS; r++) {
  for (const [i, [, run]] of cases.entries()) {
    let done = 0;
    const start = performance.now();
    while (performance.now() - start < SECONDS * 1000) done += await run();
    rates[i]!.push(done / ((performance.now() - start) / 1000));
  }
}
console.log(`${faces.length} LFW faces, ${ROUNDS} interleaved rounds × ${SECONDS}s, 1 thread, medians`);
console.log('case                                          faces/s   ms/face');
for (const [i, [name]] of cases.entries()) {
  const m = median(rates[i]!);
  console.log(`${name.padEnd(44)}  ${m.toFixed(0).padStart(7)}   ${(1000 / m).toFixed(3)}`);
}
const boxPath = median(rates[5]!);
const alignedPath = median(rates[6]!);
console.log(
  `aligned path / box path throughput: ${((alignedPath / boxPath) * 100).toFixed(1)}%; ` +
    `embedding alone ${path.basename(alignedDir)} / ${path.basename(boxDir)}: batch 1 ` +
    `${((median(rates[1]!) / median(rates[0]!)) * 100).toFixed(1)}%, batch 8 ` +
    `${((median(rates[3]!) / median(rates[2]!)) * 100).toFixed(1)}%`,
);
await Promise.all([boxModel.close(), alignedModel.close(), aligner.close()]);
