import { randomUUID } from 'node:crypto';
import { Embedder, FACE_PIXELS } from '@fv/core';
import { InferenceWorker, QueueEmbedder } from '@fv/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestRedis } from './support/redis-server.ts';
import { MODEL_DIR, MODEL_DIRS } from './support/shared-data.ts';

const crop = (seed: number): Uint8Array =>
  Uint8Array.from({ length: FACE_PIXELS }, (_, i) => (i * 7 + seed) % 256);

describe('QueueEmbedder and InferenceWorker against a real redis-server', () => {
  let redis: TestRedis;
  let embedder: Embedder;
  beforeAll(async () => {
    redis = await TestRedis.start();
    embedder = await Embedder.load(MODEL_DIR, { intraOpThreads: 1 });
  });
  afterAll(async () => {
    await embedder?.close();
    await redis?.stop();
  });

  it('returns the same embeddings as the model, in order, for a packed job', async () => {
    const queueName = `q-${randomUUID().slice(0, 8)}`;
    const worker = new InferenceWorker(embedder, { redisUrl: redis.url, queueName, maxBatch: 8 });
    const gateway = await QueueEmbedder.create({
      redisUrl: redis.url,
      queueName,
      timeoutMs: 5000,
      model: embedder.manifest.sha256,
    });
    try {
      await worker.waitUntilReady();
      const crops = [crop(1), crop(2), crop(3)];
      const viaQueue = await gateway.embed(crops);
      const { normalizeCrop } = await import('@fv/core');
      const direct = await embedder.embed(crops.map(normalizeCrop));
      expect(viaQueue).toHaveLength(crops.length);
      expect(direct).toHaveLength(crops.length);
      // Three different crops, three different embeddings: a swapped order would show.
      expect(new Set(direct.map((e) => e.join(','))).size).toBe(crops.length);
      viaQueue.forEach((e, i) => {
        expect(e).toHaveLength(embedder.manifest.output.size);
        e.forEach((v, j) => expect(v).toBeCloseTo(direct[i]![j]!, 5));
      });
    } finally {
      await gateway.close();
      await worker.close();
    }
  });

  it('a worker serving other weights refuses the job instead of embedding it', async () => {
    const queueName = `q-${randomUUID().slice(0, 8)}`;
    // The gateway's threshold and references belong to another committed model; the worker serves
    // the default one.
    const otherDir = MODEL_DIRS.find((dir) => dir !== MODEL_DIR);
    expect(otherDir, 'a second committed model').toBeTypeOf('string');
    const other = await Embedder.load(otherDir!, { intraOpThreads: 1 });
    const otherSha = other.manifest.sha256;
    await other.close();
    expect(otherSha).not.toBe(embedder.manifest.sha256);
    const worker = new InferenceWorker(embedder, { redisUrl: redis.url, queueName });
    const jobs: { refused: boolean; faces: number }[] = [];
    worker.on('job', (j) => jobs.push(j));
    const gateway = await QueueEmbedder.create({
      redisUrl: redis.url,
      queueName,
      timeoutMs: 5000,
      model: otherSha,
    });
    try {
      await worker.waitUntilReady();
      const refused = await gateway.embed([crop(1), crop(2)]).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'INFERENCE_FAILED' });
      expect(String((refused as Error).cause)).toMatch(
        /model-mismatch: the worker serves model [0-9a-f]{12}/,
      );
      expect(jobs).toEqual([expect.objectContaining({ refused: true, faces: 2 })]);
    } finally {
      await gateway.close();
      await worker.close();
    }
  });

  it('times frames out when no worker answers, and refuses new ones once the queue is too deep', async () => {
    const queueName = `q-${randomUUID().slice(0, 8)}`;
    const gateway = await QueueEmbedder.create({
      redisUrl: redis.url,
      queueName,
      timeoutMs: 150,
      maxWaiting: 3,
    });
    try {
      const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => gateway.embed([crop(i)])));
      for (const r of results)
        expect(r).toMatchObject({ status: 'rejected', reason: { code: 'INFERENCE_FAILED' } });
      // The depth poll runs every 500 ms (real time: it polls the external Redis).
      await new Promise((r) => setTimeout(r, 700));
      expect(gateway.depth).toBe(5);
      await expect(gateway.embed([crop(9)])).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    } finally {
      await gateway.close();
    }
  });

  it('a worker drops jobs whose deadline passed while they waited', async () => {
    const queueName = `q-${randomUUID().slice(0, 8)}`;
    const gateway = await QueueEmbedder.create({ redisUrl: redis.url, queueName, timeoutMs: 100 });
    const late = gateway.embed([crop(1)]).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 300));
    const worker = new InferenceWorker(embedder, { redisUrl: redis.url, queueName });
    const jobs: { expired: boolean }[] = [];
    worker.on('job', (j) => jobs.push(j));
    try {
      await worker.waitUntilReady();
      for (let i = 0; i < 50 && jobs.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(jobs).toEqual([expect.objectContaining({ expired: true, faces: 1 })]);
      expect(await late).toMatchObject({ code: 'INFERENCE_FAILED' });
    } finally {
      await gateway.close();
      await worker.close();
    }
  });
});
