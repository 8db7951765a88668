import type { FaceVerifier } from '@fv/core';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { AccessControl } from './access.ts';
import { AttemptLimiter } from './attempts.ts';
import type { Config } from './config.ts';
import { InferenceWorker } from './distributed/inference-worker.ts';
import { QueueEmbedder } from './distributed/queue-embedder.ts';
import { RedisSessionStore } from './distributed/redis-session-store.ts';
import { RedisSessionMirror } from './distributed/session-mirror.ts';
import { DetectPool } from './live/detect-pool.ts';
import { FramePipeline } from './live/frame-pipeline.ts';
import { InMemorySessionStore } from './live/in-memory-session-store.ts';
import type { SessionStore } from './live/session-store.ts';
import { IsolatedWebRtc } from './live/webrtc-isolation.ts';
import { ServerMetrics } from './metrics.ts';
import { WebhookSender } from './webhook.ts';

/** The objects a gateway's routes share, built once for the configured mode. */
export interface Services {
  readonly metrics: ServerMetrics;
  /** In memory (embedded mode) or shared through Redis (distributed mode): the routes never ask. */
  readonly sessions: SessionStore;
  readonly attempts: AttemptLimiter;
  readonly pipeline: FramePipeline;
  /** Peer connections in the WebRTC host process (WEBRTC_ISOLATION); null: in this process. */
  readonly webrtc: IsolatedWebRtc | null;
  /** The Redis connection the rate limiter shares (distributed mode), or null. */
  readonly redis: Redis | null;
  /** Embedding jobs waiting in the queue (distributed mode), or null. */
  readonly queueDepth: (() => number) | null;
  /** The distance threshold live verdicts use (LIVE_OPERATING_POINT). */
  readonly liveThreshold: number;
  /** `embedded` or `distributed (<role>)`, as operators see it. */
  readonly mode: string;
  /** Children first: live sessions, then the batcher (drains in-flight faces), then Redis. */
  close(): Promise<void>;
}

/** The live-session threshold named by configuration; a model without it stops start-up. */
function resolveLiveThreshold(verifier: FaceVerifier, point: Config['LIVE_OPERATING_POINT']): number {
  if (point === 'accuracy') return verifier.threshold;
  const op = verifier.embedder.manifest.operatingPoints?.[point];
  if (op === undefined) {
    throw new Error(`LIVE_OPERATING_POINT=${point}: the model manifest has no such operating point`);
  }
  return op.threshold;
}

/**
 * Builds the shared objects for the configured mode: embedded (in-memory sessions, the model in
 * this process) or distributed (REDIS_URL: sessions and attempt counts in Redis, crops through the
 * queue to inference workers, in this process too with ROLE=all). The one place that asks.
 */
export async function buildServices(
  config: Config,
  verifier: FaceVerifier,
  access: AccessControl,
  log: FastifyBaseLogger,
): Promise<Services> {
  const liveThreshold = resolveLiveThreshold(verifier, config.LIVE_OPERATING_POINT);
  const metrics = new ServerMetrics();
  const mirror = config.REDIS_URL ? new RedisSessionMirror(config.REDIS_URL, config.QUEUE_NAME) : null;
  const storeOptions = {
    defaultTtlSeconds: Math.min(config.SESSION_TTL_SECONDS, config.MAX_SESSION_SECONDS),
    maxTtlSeconds: config.MAX_SESSION_SECONDS,
    tokenTtlSeconds: config.TOKEN_TTL_SECONDS,
  };
  const sessions: SessionStore = mirror
    ? new RedisSessionStore(mirror, storeOptions)
    : new InMemorySessionStore(storeOptions);
  const attempts = new AttemptLimiter({
    perSession: config.MAX_FAILED_ATTEMPTS_PER_SESSION,
    perDevice: config.MAX_FAILED_ATTEMPTS_PER_DEVICE,
    redis: mirror?.redis ?? null,
    prefix: config.QUEUE_NAME,
  });
  const webhooks = new WebhookSender();
  webhooks.on('failed', ({ event, attempts: tries, reason }) =>
    log.warn(
      { sessionId: event.sessionId, tenantId: event.tenantId, tries, reason },
      'webhook not delivered',
    ),
  );
  // A session that ends (bye, a limit, expiry) frees its tenant's slot and tells the tenant,
  // server to server, with the server's own result (one gateway sends it in distributed mode).
  sessions.on('ended', ({ record, reason }) => {
    void (async () => {
      await sessions.publishEnd(record, reason);
      const tenant = access.tenantById(record.tenantId);
      if (!tenant?.webhook) return;
      if (!(await sessions.claimWebhook(record.id, config.MAX_SESSION_SECONDS * 2000))) return;
      const score = record.lastScore;
      webhooks.send(tenant.webhook.url, tenant.webhook.secret, {
        type: 'session.finished',
        id: `evt_${record.id}`,
        tenantId: record.tenantId,
        sessionId: record.id,
        reason,
        verdict: score?.verdict ?? 'pending',
        distance: score?.distance ?? null,
        smoothedDistance: score?.smoothedDistance ?? null,
        similarity: score?.similarity ?? null,
        threshold: liveThreshold,
        framesAnalysed: record.framesAnalysed,
        liveness: record.liveness,
        decision: record.decision,
        finishedAt: new Date().toISOString(),
      });
    })().catch((error: unknown) => log.error({ err: error }, 'session end handling failed'));
  });
  const { aligner } = verifier;
  const pool =
    config.DETECT_WORKERS > 0
      ? await DetectPool.create(
          config.DETECT_WORKERS,
          {},
          aligner ? { modelDir: aligner.modelDir, spec: aligner.spec } : null,
        )
      : null;
  // Distributed mode: crops go through the queue to inference workers (in this process too with
  // ROLE=all); the batcher in front of it packs each few ms of crops into one job.
  const queue = config.REDIS_URL
    ? await QueueEmbedder.create({
        redisUrl: config.REDIS_URL,
        queueName: config.QUEUE_NAME,
        timeoutMs: config.FRAME_TIMEOUT_MS,
        model: verifier.embedder.manifest.sha256,
      })
    : null;
  const localWorker =
    queue && config.ROLE === 'all'
      ? new InferenceWorker(verifier.embedder, {
          redisUrl: config.REDIS_URL!,
          queueName: config.QUEUE_NAME,
          maxBatch: config.BATCH_MAX,
          maxWaitMs: config.BATCH_WAIT_MS,
        })
      : null;
  const webrtc = config.WEBRTC_ISOLATION ? new IsolatedWebRtc(config.WEBRTC_RECYCLE_AFTER) : null;
  const pipeline = new FramePipeline(
    verifier.detector,
    queue ? (crops) => queue.embed(crops) : verifier.embedder,
    { maxBatch: config.BATCH_MAX, maxWaitMs: queue ? 2 : config.BATCH_WAIT_MS },
    pool,
    aligner,
  );
  pipeline.onBatch((report) => metrics.batchSize.observe(report.size));
  // A result that fails its schema is dropped (its frames time out); say so where operators look.
  queue?.on('malformed', ({ error }) => {
    metrics.malformedMessages.set({ source: 'queue_result' }, queue.malformedResults);
    log.warn({ err: error }, 'malformed embedding result dropped');
  });
  // Queue depth for operators; sessions react to the latency it causes (they lower their rate).
  const depthTimer = queue ? setInterval(() => metrics.queueWaiting.set(queue.depth), 1000).unref() : null;
  let closing: Promise<void> | null = null;
  return {
    metrics,
    sessions,
    attempts,
    pipeline,
    webrtc,
    redis: mirror?.redis ?? null,
    queueDepth: queue ? () => queue.depth : null,
    liveThreshold,
    mode: config.REDIS_URL ? `distributed (${config.ROLE})` : 'embedded',
    close: () =>
      (closing ??= (async () => {
        if (depthTimer) clearInterval(depthTimer);
        sessions.close();
        await webrtc?.close();
        webhooks.close();
        await pipeline.close();
        await queue?.close();
        await localWorker?.close();
        mirror?.close();
      })()),
  };
}
