import { createHash } from 'node:crypto';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import websocket from '@fastify/websocket';
import { FaceVerifier, VerificationError } from '@fv/core';
import { LIVE_LIMITS, PROTOCOL_VERSION } from '@fv/protocol';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { embedderOptions, parseIceServers, type Config } from './config.ts';
import { AccessControl } from './access.ts';
import { AttemptLimiter } from './attempts.ts';
import { installErrorHandler } from './errors.ts';
import { TenantRegistry } from './tenants.ts';
import { WebhookSender } from './webhook.ts';
import { DetectPool } from './live/detect-pool.ts';
import { InferenceWorker } from './distributed/inference-worker.ts';
import { QueueEmbedder } from './distributed/queue-embedder.ts';
import { RedisSessionMirror } from './distributed/session-mirror.ts';
import { FramePipeline } from './live/frame-pipeline.ts';
import { retainedPeers } from './live/webrtc-ingest.ts';
import { IsolatedWebRtc } from './live/webrtc-isolation.ts';
import { SessionManager } from './live/session-manager.ts';
import { ServerMetrics } from './metrics.ts';
import { opsRoutes } from './routes/ops.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { streamRoutes } from './routes/stream.ts';
import { verifyRoutes } from './routes/verify.ts';
import { webRoutes } from './routes/web.ts';
import {
  docsRoutes,
  healthzSchema,
  metricsSchema,
  opsLoginDocs,
  opsSessionSchema,
  readyzSchema,
  registerOpenApi,
} from './openapi.ts';

const hashKey = (value: string): string => createHash('sha256').update(value).digest('hex').slice(0, 32);

/** The live-session threshold named by configuration; a model without it stops start-up. */
function resolveLiveThreshold(verifier: FaceVerifier, point: Config['LIVE_OPERATING_POINT']): number {
  if (point === 'accuracy') return verifier.threshold;
  const op = verifier.embedder.manifest.operatingPoints?.[point];
  if (op === undefined) {
    throw new Error(`LIVE_OPERATING_POINT=${point}: the model manifest has no such operating point`);
  }
  return op.threshold;
}

const metricsListeners = new WeakMap<FastifyInstance, FastifyInstance>();

/** The internal `/metrics` listener of an app built with METRICS_PORT (tests read its address). */
export function metricsListenerOf(app: FastifyInstance): FastifyInstance | undefined {
  return metricsListeners.get(app);
}

/**
 * `/metrics` alone on its own listener (METRICS_HOST:METRICS_PORT), where a private-network
 * Prometheus scrapes it and the public one never sees it. It binds when the app gets ready (on
 * listen), so a taken port stops start-up, and closes with the app.
 */
function serveMetricsInternally(
  app: FastifyInstance,
  port: number,
  host: string,
  authorize: (request: FastifyRequest) => Promise<void>,
  send: (reply: FastifyReply) => Promise<string>,
): void {
  // Warnings and errors only: no log line per scrape.
  const internal = Fastify({ loggerInstance: app.log.child({ listener: 'metrics' }, { level: 'warn' }) });
  installErrorHandler(internal);
  internal.get('/metrics', { onRequest: authorize }, (_request, reply) => send(reply));
  metricsListeners.set(app, internal);
  let listening: Promise<string> | null = null;
  let closing: Promise<void> | null = null;
  app.addHook('onReady', async () => {
    app.log.info({ address: await (listening ??= internal.listen({ port, host })) }, 'metrics listener');
  });
  app.addHook('onClose', async () => {
    if (!listening) return;
    await listening.catch(() => undefined);
    await (closing ??= internal.close());
  });
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
  const access = new AccessControl({
    tenants: config.TENANTS_FILE ? TenantRegistry.fromFile(config.TENANTS_FILE) : null,
    demoTenant: config.DEMO_TENANT ?? null,
    opsTokenSha256: config.OPS_TOKEN_SHA256 ?? null,
    publicOrigin: config.PUBLIC_ORIGIN ?? null,
    metricsTokenSha256: config.METRICS_TOKEN_SHA256 ?? null,
  });
  // Logs never carry credentials: keys, cookies, and tokens in query strings — whatever logger
  // options the caller passes.
  const redaction = {
    redact: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'],
    serializers: {
      req: (request: { method: string; url: string; ip?: string }) => ({
        method: request.method,
        url: String(request.url).replace(/([?&]token=)[^&]*/g, '$1[redacted]'),
        remoteAddress: request.ip,
      }),
    },
  };
  const app = Fastify({
    logger:
      logger === false
        ? false
        : { level: config.LOG_LEVEL, ...(typeof logger === 'object' ? logger : {}), ...redaction },
    // Two uploads per request at most; anything past this is refused before it is buffered.
    bodyLimit: 1024 * 1024,
    trustProxy: config.TRUST_PROXY,
  });
  installErrorHandler(app);
  // Before any route: the API reference documents the routes it sees being added.
  await registerOpenApi(app, { open: access.open });
  if (access.open) {
    app.log.warn('open mode: no TENANTS_FILE, so no API keys are required (development and demo only)');
  }
  await app.register(multipart, {
    limits: { fileSize: config.MAX_IMAGE_BYTES, files: 2, fields: 0, parts: 2 },
  });
  const mirror = config.REDIS_URL ? new RedisSessionMirror(config.REDIS_URL, config.QUEUE_NAME) : null;
  // Per client address on every route (Redis-backed across gateways in distributed mode); the
  // tenant routes add a per-key limit. Health checks are exempt.
  await app.register(rateLimit, {
    global: true,
    max: config.RATE_LIMIT_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (request) => `ip:${request.ip}`,
    allowList: (request) => request.url === '/healthz' || request.url === '/readyz',
    ...(mirror && { redis: mirror.redis, nameSpace: `${config.QUEUE_NAME}:ratelimit:` }),
    errorResponseBuilder: (_request, context) =>
      new VerificationError(
        'RATE_LIMITED',
        `Rate limit of ${context.max} requests per minute exceeded; retry in ${Math.ceil(context.ttl / 1000)} s.`,
      ),
  });
  const mode = config.REDIS_URL ? `distributed (${config.ROLE})` : 'embedded';
  /** Closed WebRTC peers kept alive, here and in the WebRTC host (see webrtc-ingest.ts). */
  const keptPeers = (): number => retainedPeers() + (webrtc?.served ?? 0);
  app.get('/healthz', { schema: healthzSchema }, async () => ({ status: 'ok' }));
  // Unready once too many closed WebRTC peers are kept (see webrtc-ingest.ts): the load balancer
  // stops sending sessions and the orchestrator replaces the process after it drains.
  // With tenants the answer is the status alone: the load balancer needs only that (and the status
  // code), while the model, threshold, auth mode and peer count would tell anyone on the internet
  // what they are up against. Operators read those from /metrics and the dashboard.
  app.get('/readyz', { schema: readyzSchema }, async (_request, reply) => {
    const kept = keptPeers();
    const recycle = kept >= config.WEBRTC_RECYCLE_AFTER;
    const status = recycle ? 'recycle' : 'ready';
    if (!access.open) return reply.status(recycle ? 503 : 200).send({ status });
    return reply.status(recycle ? 503 : 200).send({
      status,
      mode,
      model: ownVerifier.embedder.manifest.name,
      threshold: ownVerifier.threshold,
      protocol: PROTOCOL_VERSION,
      auth: access.open ? 'open' : 'api-keys',
      retainedPeers: kept,
    });
  });
  const keyRateLimit = {
    max: config.KEY_RATE_LIMIT_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (request: { headers: { authorization?: string }; ip: string }) =>
      request.headers.authorization ? `key:${hashKey(request.headers.authorization)}` : `ip:${request.ip}`,
  };
  await app.register(verifyRoutes, {
    verifier: ownVerifier,
    maxImageBytes: config.MAX_IMAGE_BYTES,
    access,
    rateLimit: keyRateLimit,
  });

  const liveThreshold = resolveLiveThreshold(ownVerifier, config.LIVE_OPERATING_POINT);
  const metrics = new ServerMetrics();
  const sessions = new SessionManager({
    defaultTtlSeconds: Math.min(config.SESSION_TTL_SECONDS, config.MAX_SESSION_SECONDS),
    maxTtlSeconds: config.MAX_SESSION_SECONDS,
    tokenTtlSeconds: config.TOKEN_TTL_SECONDS,
  });
  const attempts = new AttemptLimiter({
    perSession: config.MAX_FAILED_ATTEMPTS_PER_SESSION,
    perDevice: config.MAX_FAILED_ATTEMPTS_PER_DEVICE,
    redis: mirror?.redis ?? null,
    prefix: config.QUEUE_NAME,
  });
  const webhooks = new WebhookSender();
  webhooks.on('failed', ({ event, attempts: tries, reason }) =>
    app.log.warn(
      { sessionId: event.sessionId, tenantId: event.tenantId, tries, reason },
      'webhook not delivered',
    ),
  );
  // A session that ends (bye, a limit, expiry) frees its tenant's slot and tells the tenant,
  // server to server, with the server's own result (one gateway sends it in distributed mode).
  sessions.on('ended', ({ record, reason }) => {
    void (async () => {
      await mirror?.endSession(record, reason);
      const tenant = access.tenantById(record.tenantId);
      if (!tenant?.webhook) return;
      if (mirror && !(await mirror.claimWebhook(record.id, config.MAX_SESSION_SECONDS * 2000))) return;
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
        finishedAt: new Date().toISOString(),
      });
    })().catch((error: unknown) => app.log.error({ err: error }, 'session end handling failed'));
  });
  const { aligner } = ownVerifier;
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
        model: ownVerifier.embedder.manifest.sha256,
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
  const webrtc = config.WEBRTC_ISOLATION ? new IsolatedWebRtc(config.WEBRTC_RECYCLE_AFTER) : null;
  const pipeline = new FramePipeline(
    ownVerifier.detector,
    queue ? (crops) => queue.embed(crops) : ownVerifier.embedder,
    { maxBatch: config.BATCH_MAX, maxWaitMs: queue ? 2 : config.BATCH_WAIT_MS },
    pool,
    aligner,
  );
  pipeline.onBatch((report) => metrics.batchSize.observe(report.size));
  // Queue depth for operators; sessions react to the latency it causes (they lower their rate).
  const depthTimer = queue ? setInterval(() => metrics.queueWaiting.set(queue.depth), 1000).unref() : null;
  // Children first: live sessions, then the batcher (drains in-flight faces), then the model.
  app.addHook('onClose', async () => {
    if (depthTimer) clearInterval(depthTimer);
    sessions.close();
    await webrtc?.close();
    webhooks.close();
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
    access,
    rateLimit: keyRateLimit,
  });
  await app.register(streamRoutes, {
    sessions,
    verifier: ownVerifier,
    pipeline,
    metrics,
    threshold: liveThreshold,
    mirror,
    iceServers: parseIceServers(config.ICE_SERVERS),
    access,
    attempts,
    webrtc,
    messageBudget: { perSecond: config.WS_MESSAGES_PER_SECOND, burst: config.WS_MESSAGE_BURST },
  });
  await app.register(opsRoutes, {
    sessions,
    pipeline,
    metrics,
    threshold: liveThreshold,
    mode,
    ...(queue && { queueDepth: () => queue.depth }),
    authorize: (request) => access.authorizeOps(request),
    messageBudget: { perSecond: config.OPS_MESSAGES_PER_SECOND, burst: config.OPS_MESSAGE_BURST },
  });
  // The dashboard page asks first, so it can show the sign-in instead of a failing feed.
  app.get('/v1/ops/session', { schema: opsSessionSchema }, async (request, reply) => {
    access.authorizeOps(request);
    return reply.status(204).send();
  });
  app.post<{ Body: { token: string } }>(
    '/v1/ops/login',
    {
      schema: {
        ...opsLoginDocs,
        body: {
          type: 'object',
          required: ['token'],
          additionalProperties: false,
          properties: { token: { type: 'string', minLength: 1, maxLength: 512 } },
        },
      },
      // Guessing the operator token is slow.
      config: { rateLimit: { max: 10, timeWindow: 60_000 } },
    },
    async (request, reply) => {
      access.opsLogin(request, reply, request.body.token);
      return reply.status(204).send();
    },
  );
  await app.register(webRoutes, { distDir: config.WEB_DIST_DIR, sessions, mirror });
  await app.register(docsRoutes, {
    authorize: (request) => access.authorizeDocs(request),
    ownOrigin: (request) => access.ownOrigin(request),
  });
  const sendMetrics = async (reply: FastifyReply): Promise<string> => {
    metrics.retainedPeers.set(keptPeers());
    metrics.webrtcHostCrashes.set(webrtc?.crashes ?? 0);
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  };
  // The metrics tell session and error counts and rates: never to just anyone on a tenant
  // deployment. A token, when configured, is needed wherever they are served.
  const authorizeMetrics = async (request: FastifyRequest) => access.authorizeMetrics(request);
  if (config.METRICS_PORT !== undefined) {
    serveMetricsInternally(app, config.METRICS_PORT, config.METRICS_HOST, authorizeMetrics, sendMetrics);
  } else if (access.open || access.metricsTokenRequired) {
    app.get('/metrics', { schema: metricsSchema, onRequest: authorizeMetrics }, (_request, reply) =>
      sendMetrics(reply),
    );
  } else {
    app.log.warn('/metrics is not served: with TENANTS_FILE it needs METRICS_PORT or METRICS_TOKEN_SHA256');
  }
  return app;
}
