import { Embedder } from '@fv/core';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { embedderOptions, type Config } from './config.ts';
import { InferenceWorker } from './distributed/inference-worker.ts';
import { installErrorHandler } from './errors.ts';

/**
 * ROLE=worker: an inference worker (CUDA/TensorRT where configured) consuming the BullMQ queue,
 * with `/healthz` and `/metrics` (batch sizes, queue wait, inference time, faces) on PORT.
 */
export async function buildWorkerApp({
  config,
  logger,
}: {
  config: Config;
  logger?: FastifyServerOptions['logger'];
}): Promise<FastifyInstance> {
  if (!config.REDIS_URL) throw new Error('ROLE=worker needs REDIS_URL');
  const embedder = await Embedder.load(config.MODEL_DIR, embedderOptions(config));
  const worker = new InferenceWorker(embedder, {
    redisUrl: config.REDIS_URL,
    queueName: config.QUEUE_NAME,
    maxBatch: config.BATCH_MAX,
    maxWaitMs: config.BATCH_WAIT_MS,
  });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const batchSize = new Histogram({
    name: 'fv_worker_batch_size',
    help: 'Faces per model run',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [registry],
  });
  const inferSeconds = new Histogram({
    name: 'fv_worker_inference_seconds',
    help: 'Model run time per batch',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
    registers: [registry],
  });
  const queueSeconds = new Histogram({
    name: 'fv_worker_queue_wait_seconds',
    help: 'Time a job waited in the queue',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
    registers: [registry],
  });
  const faces = new Counter({
    name: 'fv_worker_faces_total',
    help: 'Faces embedded (expired: dropped at their deadline; refused: the job named other model weights)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const malformed = new Counter({
    name: 'fv_worker_malformed_jobs_total',
    help: 'Jobs whose data was no embed job (dropped, not embedded)',
    registers: [registry],
  });
  worker.on('malformed', () => malformed.inc());
  worker.on('batch', (r) => {
    batchSize.observe(r.size);
    inferSeconds.observe(r.runMs / 1000);
  });
  worker.on('job', (j) => {
    queueSeconds.observe(j.queueMs / 1000);
    faces.inc({ outcome: j.expired ? 'expired' : j.refused ? 'refused' : 'embedded' }, j.faces);
  });
  await worker.waitUntilReady();

  const app = Fastify({ logger: logger ?? { level: config.LOG_LEVEL } });
  installErrorHandler(app);
  worker.on('malformed', ({ jobId, error }) =>
    app.log.warn({ jobId, reason: error.message }, 'malformed job'),
  );
  app.get('/healthz', async () => ({ status: 'ok', role: 'worker' }));
  app.get('/metrics', async (_request, reply) => {
    void reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  // Graceful: finish the jobs in flight, then release the model.
  app.addHook('onClose', async () => {
    await worker.close();
    await embedder.close();
  });
  return app;
}
