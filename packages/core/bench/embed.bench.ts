// `npm run bench` (alias bench:embed): embedding throughput at batch 1/8/32/64 on one thread and on
// all cores, the model's FLOPs per face, and the ratio to this machine's single-core FP32 peak
// (a MatMul measured in the same run). Prints medians of several runs. Never run in CI.
import { availableParallelism } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { DEFAULT_MODEL_DIR, Embedder, FACE_PIXELS } from '../src/index.ts';
import { matmulModel } from './matmul-onnx.ts';

const modelDir = process.argv[2] ?? process.env['MODEL_DIR'] ?? DEFAULT_MODEL_DIR;
const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const SECONDS_PER_RUN = Number(process.env['BENCH_SECONDS'] ?? 1);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function timeLoop(fn: () => Promise<unknown>, work: number): Promise<number> {
  await fn(); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let done = 0;
    const start = performance.now();
    while (performance.now() - start < SECONDS_PER_RUN * 1000) {
      await fn();
      done += work;
    }
    rates.push(done / ((performance.now() - start) / 1000));
  }
  return median(rates);
}

async function singleCorePeakGflops(): Promise<number> {
  const n = 512;
  const session = await ort.InferenceSession.create(matmulModel(n), {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  const a = new ort.Tensor(
    'float32',
    Float32Array.from({ length: n * n }, (_, i) => (i % 7) / 7),
    [n, n],
  );
  const b = new ort.Tensor(
    'float32',
    Float32Array.from({ length: n * n }, (_, i) => (i % 5) / 5),
    [n, n],
  );
  const perSecond = await timeLoop(() => session.run({ A: a, B: b }), 1);
  await session.release();
  return (perSecond * 2 * n ** 3) / 1e9;
}

const cores = availableParallelism();
const peak = await singleCorePeakGflops();
const probe = await Embedder.load(modelDir);
const manifest = probe.manifest;
await probe.close();
const training = (manifest.training ?? {}) as Record<string, unknown>;
const flops = Number((training['model'] as Record<string, unknown> | undefined)?.['flops'] ?? Number.NaN);

const faces = (n: number): Float32Array[] =>
  Array.from({ length: n }, (_, k) =>
    Float32Array.from({ length: FACE_PIXELS }, (_, i) => ((i * 31 + k * 17) % 255) / 255),
  );

console.log(
  `model ${manifest.name} (${path.relative(process.cwd(), modelDir)}), ${cores} cores, ${RUNS} runs × ${SECONDS_PER_RUN}s, medians`,
);
console.log(`single-core FP32 peak (512×512 MatMul, ONNX Runtime, 1 thread): ${peak.toFixed(1)} GFLOP/s`);
console.log(
  `model cost: ${Number.isFinite(flops) ? `${(flops / 1e6).toFixed(1)} MFLOPs per face (multiply-add = 2 FLOPs)` : 'unknown (no training.flops in manifest)'}`,
);
console.log('');
console.log('threads  batch  faces/s   GFLOP/s  % of 1-core peak');
for (const threads of [1, cores]) {
  const embedder = await Embedder.load(modelDir, { intraOpThreads: threads });
  for (const batch of [1, 8, 32, 64]) {
    const input = faces(batch);
    const rate = await timeLoop(() => embedder.embed(input), batch);
    const gflops = (rate * flops) / 1e9;
    const ofPeak = (gflops / (peak * threads)) * 100;
    console.log(
      `${String(threads).padStart(7)}  ${String(batch).padStart(5)}  ${rate.toFixed(0).padStart(7)}  ${Number.isFinite(gflops) ? gflops.toFixed(2).padStart(8) : '       -'}  ${Number.isFinite(ofPeak) ? `${ofPeak.toFixed(1)}%${threads > 1 ? ` (of ${threads}× peak)` : ''}` : '-'}`,
    );
  }
  await embedder.close();
}
