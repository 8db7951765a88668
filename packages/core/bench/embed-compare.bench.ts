// `tsx packages/core/bench/embed-compare.bench.ts <model dir> <model dir> …`: embedding throughput
// of several models in one run, one thread, batch 1 and 8, rounds interleaved (A, B, A, B, …) so a
// machine whose load drifts affects every model alike. Prints medians and the ratio to the first
// model. Never run in CI.
import path from 'node:path';
import { DEFAULT_MODEL_DIR, FACE_PIXELS } from '../src/index.ts';
import { loadModelForEval } from '../src/eval/load-model.ts';

const dirs = process.argv.slice(2);
if (dirs.length === 0) dirs.push(DEFAULT_MODEL_DIR);
const ROUNDS = Number(process.env['BENCH_RUNS'] ?? 9);
const SECONDS_PER_RUN = Number(process.env['BENCH_SECONDS'] ?? 1);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const faces = (n: number): Float32Array[] =>
  Array.from({ length: n }, (_, k) =>
    Float32Array.from({ length: FACE_PIXELS }, (_, i) => ((i * 31 + k * 17) % 255) / 255),
  );

// A model directory with a manifest, or a bare model.onnx fresh from training.
const embedders = await Promise.all(
  dirs.map((d) => loadModelForEval(path.resolve(d), { intraOpThreads: 1 })),
);
console.log(`${ROUNDS} interleaved rounds × ${SECONDS_PER_RUN}s per model and batch, 1 thread, medians`);
console.log('batch  model                      faces/s   vs first');
for (const batch of [1, 8]) {
  const input = faces(batch);
  const rates = embedders.map(() => [] as number[]);
  for (const e of embedders) await e.embed(input); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, e] of embedders.entries()) {
      let done = 0;
      const start = performance.now();
      while (performance.now() - start < SECONDS_PER_RUN * 1000) {
        await e.embed(input);
        done += batch;
      }
      rates[i]!.push(done / ((performance.now() - start) / 1000));
    }
  }
  const first = median(rates[0]!);
  embedders.forEach((_, i) => {
    const m = median(rates[i]!);
    console.log(
      `${String(batch).padStart(5)}  ${path.basename(dirs[i]!).padEnd(25)}  ${m.toFixed(0).padStart(7)}   ${((m / first) * 100).toFixed(1)}%`,
    );
  });
}
await Promise.all(embedders.map((e) => e.close()));
