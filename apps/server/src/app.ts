import multipart from '@fastify/multipart';
import websocket from '@fastify/websocket';
import { FaceVerifier } from '@fv/core';
import { LIVE_LIMITS, PROTOCOL_VERSION } from '@fv/protocol';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { embedderOptions, parseIceServers, type Config } from './config.ts';
import { installErrorHandler } from './errors.ts';
import { DetectPool } from './live/detect-pool.ts';
import { InferenceWorker } from './distributed/inference-worker.ts';
import { QueueEmbedder } from './distributed/queue-embedder.ts';
import { RedisSessionMirror } from './distributed/session-mirror.ts';
import { FramePipeline } from './live/frame-pipeline.ts';
import { SessionManager } from './live/session-manager.ts';
import { ServerMetrics } from './metrics.ts';
import { opsRoutes } from './routes/ops.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { streamRoutes } from './routes/stream.ts';
import { verifyRoutes } from './routes/verify.ts';
import { webRoutes } from './routes/web.ts';

/** The live-session threshold named by configuration; a model without it stops start-up. */
function resolveLiveThreshold(verifier: FaceVerifier, point: Config['LIVE_OPERATING_POINT']): number {
  if (point === 'accuracy') return verifier.threshold;
  const op = verifier.embedder.manifest.operatingPoints?.[point];
  if (op === undefined) {
    throw new Error(`LIVE_OPERATING_POINT=${point}: the model manifest has no such operating point`);
  }
  return op.threshold;
}

export interface AppOptions {
  config: Config;
  /** An already loaded verifier (tests share one); otherwise one is loaded from `config.MODEL_DIR`. */
  verifier?: FaceVerifier;
  logger?: FastifyServerOptions['logger'];
}

/**
 * Builds the Fastify app (testable with `inject`). Loading the model is part of building: if it
 * fails, this rejects and the process must not start serving.
 */
export async function buildApp({ config, verifier, logger }: AppOptions): Promise<FastifyInstance> {
  const ownVerifier =
    verifier ??
    (await FaceVerifier.create({
      modelDir: config.MODEL_DIR,
      embedder: embedderOptions(config),
      decode: { maxBytes: config.MAX_IMAGE_BYTES, maxPixels: config.MAX_IMAGE_PIXELS },
    }));
  const app = Fastify({
    logger: logger ?? { level: config.LOG_LEVEL },
    // Two uploads per request at most; anything past this is refused before it is buffered.
    bodyLimit: 1024 * 1024,
  });
  installErrorHandler(app);
  await app.register(multipart, {
    limits: { fileSize: config.MAX_IMAGE_BYTES, files: 2, fields: 0, parts: 2 },
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => ({
    status: 'ready',
    mode: config.REDIS_URL ? `distributed (${config.ROLE})` : 'embedded',
    model: ownVerifier.embedder.manifest.name,
    threshold: ownVerifier.threshold,
    protocol: PROTOCOL_VERSION,
  }));
  await app.register(verifyRoutes, { verifier: ownVerifier, maxImageBytes: config.MAX_IMAGE_BYTES });

  const liveThreshold = resolveLiveThreshold(ownVerifier, config.LIVE_OPERATING_POINT);
  const metrics = new ServerMetrics();
  const sessions = new SessionManager({
    defaultTtlSeconds: config.SESSION_TTL_SECONDS,
    maxTtlSeconds: Math.max(config.SESSION_TTL_SECONDS, 3600),
  });
  const pool = config.DETECT_WORKERS > 0 ? await DetectPool.create(config.DETECT_WORKERS) : null;
  // Distributed mode: crops go through the queue to inference workers (in this process too with
  // ROLE=all); the batcher in front of it packs each few ms of crops into one job.
  const queue = config.REDIS_URL
    ? await QueueEmbedder.create({
        redisUrl: config.REDIS_URL,
        queueName: config.QUEUE_NAME,
        timeoutMs: config.FRAME_TIMEOUT_MS,
      })
    : null;
  const localWorker =
    queue && config.ROLE === 'all'
      ? new InferenceWorker(ownVerifier.embedder, {
          redisUrl: config.REDIS_URL!,
          queueName: config.QUEUE_NAME,
          maxBatch: config.BATCH_MAX,
          maxWaitMs: config.BATCH_WAIT_MS,
        })
      : null;
  const mirror = config.REDIS_URL ? new RedisSessionMirror(config.REDIS_URL, config.QUEUE_NAME) : null;
  const pipeline = new FramePipeline(
    ownVerifier.detector,
    queue ? (crops) => queue.embed(crops) : ownVerifier.embedder,
    { maxBatch: config.BATCH_MAX, maxWaitMs: queue ? 2 : config.BATCH_WAIT_MS },
    pool,
  );
  pipeline.onBatch((report) => metrics.batchSize.observe(report.size));
  // Queue depth for operators; sessions react to the latency it causes (they lower their rate).
  const depthTimer = queue ? setInterval(() => metrics.queueWaiting.set(queue.depth), 1000).unref() : null;
  // Children first: live sessions, then the batcher (drains in-flight faces), then the model.
  app.addHook('onClose', async () => {
    if (depthTimer) clearInterval(depthTimer);
    sessions.close();
    await pipeline.close();
    await queue?.close();
    await localWorker?.close();
    mirror?.close();
    if (!verifier) await ownVerifier.close();
  });
  await app.register(websocket, { options: { maxPayload: LIVE_LIMITS.maxEnrollImageLength + 1024 } });
  await app.register(sessionRoutes, {
    sessions,
    verifier: ownVerifier,
    maxImageBytes: config.MAX_IMAGE_BYTES,
    threshold: liveThreshold,
    mirror,
  });
  await app.register(streamRoutes, {
    sessions,
    verifier: ownVerifier,
    pipeline,
    metrics,
    threshold: liveThreshold,
    mirror,
    iceServers: parseIceServers(config.ICE_SERVERS),
  });
  await app.register(opsRoutes, {
    sessions,
    pipeline,
    metrics,
    threshold: liveThreshold,
    mode: config.REDIS_URL ? `distributed (${config.ROLE})` : 'embedded',
    ...(queue && { queueDepth: () => queue.depth }),
  });
  await app.register(webRoutes, { distDir: config.WEB_DIST_DIR, sessions, mirror });
  app.get('/metrics', async (_request, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  return app;
}
