// `npm run bench:load`: distributed mode against embedded mode, same machine, same run.
// 1. The queue itself: round trip of a one-face job through Redis and a worker vs calling the model
//    directly (the queue's overhead per frame), and worker throughput with the dynamic batcher vs
//    batch size 1 at the same offered load (the batching gain).
// 2. Live sessions with CLI clients over WebRTC: embedded vs 1 gateway + 1 worker process.
// Medians; never run in CI.
import { randomUUID } from 'node:crypto';
import { Embedder, FACE_PIXELS, normalizeCrop } from '@fv/core';
import { InferenceWorker, QueueEmbedder } from '@fv/server';
import { NetNamespace } from '../support/netns.ts';
import { TestRedis } from '../support/redis-server.ts';
import { MODEL_DIR } from '../support/shared-data.ts';
import { startServer } from '../support/server-process.ts';
import { measureLevels, printLevels } from './live-harness.ts';

const LEVELS = (process.env['BENCH_SESSIONS'] ?? '1,10,20,40').split(',').map(Number);
const LOOPS = Number(process.env['BENCH_LOOPS'] ?? 2);
/** `queue` runs only part 1 (queue overhead and batching gain), `live` only part 2. */
const PART = process.env['BENCH_PART'] ?? 'all';
const percentile = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.floor((p / 100) * (xs.length - 1))]!;
const crop = Uint8Array.from({ length: FACE_PIXELS }, (_, i) => (i * 37) % 251);

// ---- 1. queue overhead and batching gain
if (PART !== 'live') {
  const redis = await TestRedis.start();
  const embedder = await Embedder.load(MODEL_DIR, { intraOpThreads: 1 });
  const direct: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t = performance.now();
    await embedder.embed([normalizeCrop(crop)]);
    direct.push(performance.now() - t);
  }
  const queueName = `bench-${randomUUID().slice(0, 8)}`;
  // maxWaitMs 0: measure the queue itself, not the batcher's deliberate wait for company.
  let worker = new InferenceWorker(embedder, { redisUrl: redis.url, queueName, maxBatch: 64, maxWaitMs: 0 });
  await worker.waitUntilReady();
  const gateway = await QueueEmbedder.create({ redisUrl: redis.url, queueName, timeoutMs: 5000 });
  const queued: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t = performance.now();
    await gateway.embed([crop]);
    queued.push(performance.now() - t);
  }
  console.log('queue round trip, one face per job, sequential (300 each):');
  console.log(
    `  model called directly      p50 ${percentile(direct, 50).toFixed(2)} ms  p95 ${percentile(direct, 95).toFixed(2)} ms`,
  );
  console.log(
    `  through BullMQ + a worker  p50 ${percentile(queued, 50).toFixed(2)} ms  p95 ${percentile(queued, 95).toFixed(2)} ms`,
  );
  console.log(
    `  queue overhead per frame   p50 ${(percentile(queued, 50) - percentile(direct, 50)).toFixed(2)} ms`,
  );

  const offered = 128;
  const seconds = 5;
  const gains: Record<number, { rate: number; batch: number }> = {};
  for (const maxBatch of [64, 1]) {
    await worker.close();
    worker = new InferenceWorker(embedder, { redisUrl: redis.url, queueName, maxBatch });
    await worker.waitUntilReady();
    let faces = 0;
    let batches = 0;
    worker.on('batch', (r) => {
      faces += r.size;
      batches++;
    });
    const end = Date.now() + seconds * 1000;
    let done = 0;
    await Promise.all(
      Array.from({ length: offered }, async () => {
        while (Date.now() < end) {
          await gateway.embed([crop]).catch(() => undefined);
          done++;
        }
      }),
    );
    gains[maxBatch] = { rate: done / seconds, batch: batches ? faces / batches : 0 };
  }
  console.log(`worker throughput at ${offered} concurrent one-face requests (${seconds} s each):`);
  console.log(
    `  dynamic batcher (max 64)   ${gains[64]!.rate.toFixed(0)} faces/s, mean batch ${gains[64]!.batch.toFixed(1)}`,
  );
  console.log(
    `  batch size 1               ${gains[1]!.rate.toFixed(0)} faces/s, mean batch ${gains[1]!.batch.toFixed(1)}`,
  );
  console.log(`  batching gain              ${(gains[64]!.rate / gains[1]!.rate).toFixed(2)}×`);
  // What batching can buy from the model alone on this hardware, same run: the ceiling for the
  // gain above once the queue's per-job cost is amortised.
  const modelRate = async (batch: number): Promise<number> => {
    const faces = Array.from({ length: batch }, () => normalizeCrop(crop));
    const rates: number[] = [];
    for (let run = 0; run < 5; run++) {
      let n = 0;
      const t = performance.now();
      while (performance.now() - t < 600) {
        await embedder.embed(faces);
        n += batch;
      }
      rates.push((n * 1000) / (performance.now() - t));
    }
    return percentile(rates, 50);
  };
  const [one, many] = [await modelRate(1), await modelRate(64)];
  console.log(
    `  model alone (no queue)     batch 1 ${one.toFixed(0)} faces/s, batch 64 ${many.toFixed(0)} faces/s: ${(many / one).toFixed(2)}× from batching`,
  );
  await gateway.close();
  await worker.close();
  await embedder.close();
  await redis.stop();
}

// ---- 2. live sessions: embedded vs distributed
if (PART !== 'queue') {
  const ns = new NetNamespace(String(process.pid));
  // Everything started here is stopped in `finally`, also when a step fails.
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const embedded = await startServer(ns, 18383, {});
    cleanups.push(embedded.stop);
    const embeddedResults = await measureLevels(ns, embedded.url, LEVELS, LOOPS);
    await embedded.stop();

    const redis = await TestRedis.start({
      host: ns.innerAddress,
      spawn: (command, args) => ns.spawn(command, args),
    });
    cleanups.push(() => redis.stop());
    const redisUrl = redis.url;
    const queueName = `load-${randomUUID().slice(0, 8)}`;
    const worker = await startServer(ns, 18385, {
      ROLE: 'worker',
      REDIS_URL: redisUrl,
      QUEUE_NAME: queueName,
    });
    cleanups.unshift(worker.stop);
    const gatewaySrv = await startServer(ns, 18386, {
      ROLE: 'gateway',
      REDIS_URL: redisUrl,
      QUEUE_NAME: queueName,
    });
    cleanups.unshift(gatewaySrv.stop);
    const distributedResults = await measureLevels(ns, gatewaySrv.url, LEVELS, LOOPS);

    printLevels(`embedded (one process), ${LOOPS * 3} s per session:`, embeddedResults);
    printLevels(
      `distributed (1 gateway + 1 worker process, BullMQ/Redis), ${LOOPS * 3} s per session:`,
      distributedResults,
    );
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    ns.close();
  }
}
