import { createHash } from 'node:crypto';
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import websocket from '@fastify/websocket';
import { FaceVerifier, VerificationError } from '@fv/core';
import { LIVE_LIMITS, OpsLoginBodySchema, PROTOCOL_VERSION, type OpsLoginBody } from '@fv/protocol';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import { embedderOptions, parseIceServers, type Config } from './config.ts';
import { AccessControl } from './access.ts';
import { installErrorHandler } from './errors.ts';
import { TenantRegistry } from './tenants.ts';
import { retainedPeers } from './live/webrtc-ingest.ts';
import { serveMetricsInternally } from './metrics-listener.ts';
import { opsRoutes } from './routes/ops.ts';
import { livenessDefaults } from './live/liveness-policy.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { streamRoutes } from './routes/stream.ts';
import { verifyRoutes } from './routes/verify.ts';
import { webRoutes } from './routes/web.ts';
import { buildServices, type Services } from './services.ts';
import { docsRoutes } from './routes/docs.ts';
import {
  healthzSchema,
  metricsSchema,
  opsLoginDocs,
  opsSessionSchema,
  readyzSchema,
  registerOpenApi,
} from './openapi.ts';

export { metricsListenerOf } from './metrics-listener.ts';

const hashKey = (value: string): string => createHash('sha256').update(value).digest('hex').slice(0, 32);

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
  const services = await buildServices(config, ownVerifier, access, app.log);
  // Children first (services.ts), then the model.
  app.addHook('onClose', async () => {
    await services.close();
    if (!verifier) await ownVerifier.close();
  });
  try {
    await registerRoutes(app, config, ownVerifier, access, services);
  } catch (error) {
    await services.close();
    throw error;
  }
  return app;
}

/** Every route, on the shared services; none of them asks which mode the gateway runs in. */
async function registerRoutes(
  app: FastifyInstance,
  config: Config,
  verifier: FaceVerifier,
  access: AccessControl,
  { metrics, sessions, attempts, pipeline, webrtc, redis, queueDepth, liveThreshold, mode }: Services,
): Promise<void> {
  // Per client address on every route (Redis-backed across gateways in distributed mode); the
  // tenant routes add a per-key limit. Health checks are exempt.
  await app.register(rateLimit, {
    global: true,
    max: config.RATE_LIMIT_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (request) => `ip:${request.ip}`,
    allowList: (request) => request.url === '/healthz' || request.url === '/readyz',
    ...(redis && { redis, nameSpace: `${config.QUEUE_NAME}:ratelimit:` }),
    errorResponseBuilder: (_request, context) =>
      new VerificationError(
        'RATE_LIMITED',
        `Rate limit of ${context.max} requests per minute exceeded; retry in ${Math.ceil(context.ttl / 1000)} s.`,
      ),
  });
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
      model: verifier.embedder.manifest.name,
      threshold: verifier.threshold,
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
    verifier,
    maxImageBytes: config.MAX_IMAGE_BYTES,
    access,
    rateLimit: keyRateLimit,
  });

  await app.register(websocket, { options: { maxPayload: LIVE_LIMITS.maxEnrollImageLength + 1024 } });
  await app.register(sessionRoutes, {
    sessions,
    verifier,
    maxImageBytes: config.MAX_IMAGE_BYTES,
    threshold: liveThreshold,
    access,
    rateLimit: keyRateLimit,
    liveness: livenessDefaults(config),
  });
  await app.register(streamRoutes, {
    sessions,
    verifier,
    pipeline,
    metrics,
    threshold: liveThreshold,
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
    ...(queueDepth && { queueDepth }),
    authorize: (request) => access.authorizeOps(request),
    messageBudget: { perSecond: config.OPS_MESSAGES_PER_SECOND, burst: config.OPS_MESSAGE_BURST },
  });
  // The dashboard page asks first, so it can show the sign-in instead of a failing feed.
  app.get('/v1/ops/session', { schema: opsSessionSchema }, async (request, reply) => {
    access.authorizeOps(request);
    return reply.status(204).send();
  });
  app.post<{ Body: OpsLoginBody }>(
    '/v1/ops/login',
    {
      schema: {
        ...opsLoginDocs,
        body: OpsLoginBodySchema,
      },
      // Guessing the operator token is slow.
      config: { rateLimit: { max: 10, timeWindow: 60_000 } },
    },
    async (request, reply) => {
      access.opsLogin(request, reply, request.body.token);
      return reply.status(204).send();
    },
  );
  await app.register(webRoutes, { distDir: config.WEB_DIST_DIR, sessions });
  await app.register(docsRoutes, {
    authorize: (request) => access.authorizeDocs(request),
    ownOrigin: (request) => access.ownOrigin(request),
  });
  const sendMetrics = async (reply: FastifyReply): Promise<string> => {
    metrics.retainedPeers.set(keptPeers());
    metrics.webrtcHostCrashes.set(webrtc?.crashes ?? 0);
    metrics.malformedMessages.set({ source: 'webrtc_host' }, webrtc?.malformedEvents ?? 0);
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
}
