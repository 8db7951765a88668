import { DEFAULT_MODEL_DIR, type EmbedderOptions, type ExecutionProvider } from '@fv/core';
import envSchema from 'env-schema';
import { Type, type Static } from '@sinclair/typebox';
import path from 'node:path';
import { livenessDefaults } from './live/liveness-policy.ts';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  HOST: Type.String({ default: '0.0.0.0' }),
  /** The embedding model's folder (the default is core's `DEFAULT_MODEL_DIR`). */
  MODEL_DIR: Type.String({ default: DEFAULT_MODEL_DIR }),
  /** Comma-separated ONNX Runtime execution providers, e.g. `cuda,cpu` on GPU workers. */
  EXECUTION_PROVIDERS: Type.String({
    default: 'cpu',
    pattern: '^(cpu|cuda|tensorrt)(,(cpu|cuda|tensorrt))*$',
  }),
  /**
   * ONNX Runtime threads per embedding run (0: all cores). 1 by measurement (`npm run bench:cpu`):
   * all cores cost three times the CPU per frame on a 2-core machine for no gain in latency.
   */
  INTRA_OP_THREADS: Type.Integer({ minimum: 0, default: 1 }),
  /**
   * How far each V8 heap of the server may grow past its live size before a full collection, in
   * percent (0: V8's own choice). 50 by measurement (`npm run bench:cpu`, see `v8-heap.ts`).
   */
  V8_HEAP_GROWING_PERCENT: Type.Integer({ minimum: 0, maximum: 400, default: 50 }),
  /** Largest accepted upload, per image. */
  MAX_IMAGE_BYTES: Type.Integer({ minimum: 1024, maximum: 100 * 1024 * 1024, default: 20 * 1024 * 1024 }),
  MAX_IMAGE_PIXELS: Type.Integer({ minimum: 1024, default: 40_000_000 }),
  /** Largest model batch across sessions. */
  BATCH_MAX: Type.Integer({ minimum: 1, maximum: 1024, default: 32 }),
  /** How long the first face of a batch waits for others, ms. */
  BATCH_WAIT_MS: Type.Number({ minimum: 0, maximum: 1000, default: 4 }),
  /**
   * Threshold live sessions decide with: `accuracy` (the manifest's best-accuracy threshold, as
   * /v1/verify uses) or a false-accept-rate operating point from the manifest (`far1e2` = 1%).
   */
  LIVE_OPERATING_POINT: Type.Union(
    [Type.Literal('accuracy'), Type.Literal('far1e2'), Type.Literal('far1e3')],
    {
      default: 'far1e2',
    },
  ),
  /**
   * JSON array of RTCIceServer objects for WebRTC (STUN/TURN), given to the server's peer and to
   * clients in `welcome`. Needed whenever clients are not on the server's own network.
   */
  ICE_SERVERS: Type.String({ default: '[]' }),
  /**
   * Worker threads for face detection (0 = on the main thread). Detection is the costliest stage;
   * workers keep it off the event loop and spread it over cores.
   */
  DETECT_WORKERS: Type.Integer({ minimum: 0, maximum: 64, default: 2 }),
  /** Redis for distributed mode (BullMQ queue + result channels). Unset: embedded mode. */
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  /** With REDIS_URL: `gateway` (HTTP, WebRTC, detection), `worker` (inference), or `all` (both). */
  ROLE: Type.Union([Type.Literal('all'), Type.Literal('gateway'), Type.Literal('worker')], {
    default: 'all',
  }),
  QUEUE_NAME: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'fv-embed' }),
  /** A queued frame older than this is dropped (gateway times it out, worker skips it). */
  FRAME_TIMEOUT_MS: Type.Integer({ minimum: 50, maximum: 30_000, default: 1000 }),
  /** The built web app (`npm run build:web`): demo page, embed page, operator dashboard. */
  WEB_DIST_DIR: Type.String({ default: path.join(REPO_ROOT, 'apps', 'web', 'dist') }),
  /**
   * Run WebRTC peer connections in a child process, so a native crash in @roamhq/wrtc (found by
   * fuzzing offers) ends that process, not the gateway. Off: peers live in the gateway process.
   */
  WEBRTC_ISOLATION: Type.Boolean({ default: true }),
  /**
   * Closed WebRTC peers this process may keep before it reports itself unready (`/readyz` 503) so
   * the orchestrator drains and replaces it; see apps/server/src/live/webrtc-ingest.ts (~20 KiB each).
   */
  WEBRTC_RECYCLE_AFTER: Type.Integer({ minimum: 1, default: 20_000 }),
  SESSION_TTL_SECONDS: Type.Integer({ minimum: 10, maximum: 86_400, default: 600 }),
  /** Longest session a tenant may ask for (`ttlSeconds`); its stream ends then. */
  MAX_SESSION_SECONDS: Type.Integer({ minimum: 10, maximum: 86_400, default: 3600 }),
  /** How long a browser token may wait for its hello (and a resume after a drop). */
  TOKEN_TTL_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 180 }),
  /**
   * Tenants and their API keys (JSON, see apps/server/src/tenants.ts). Unset: open mode — no keys,
   * one implicit tenant — for development and the demo only.
   */
  TENANTS_FILE: Type.Optional(Type.String({ minLength: 1 })),
  /** With TENANTS_FILE: the tenant the demo page's `/v1/demo/*` routes act for (unset: no demo). */
  DEMO_TENANT: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' })),
  /** Hex SHA-256 of the operator credential for `/ops` (required for the dashboard with TENANTS_FILE). */
  OPS_TOKEN_SHA256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  /**
   * Serve `/metrics` on its own listener on this port (0: any free port) instead of the public one,
   * which then has no `/metrics`. Unset: `/metrics` is on PORT — public in open mode; with
   * TENANTS_FILE only when METRICS_TOKEN_SHA256 is set (and with that token), otherwise not at all.
   */
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  /**
   * Address the METRICS_PORT listener binds. Loopback by default, for a scraper on the same host or
   * in the same pod; `0.0.0.0` lets a Prometheus elsewhere in the private network reach it (keep
   * the port off the public load balancer, or set METRICS_TOKEN_SHA256 as well).
   */
  METRICS_HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  /**
   * Hex SHA-256 of a bearer token for `/metrics` (Prometheus `authorization: {credentials: …}`).
   * When set, every `/metrics` — on PORT or on METRICS_PORT, in either mode — needs
   * `Authorization: Bearer <token>`.
   */
  METRICS_TOKEN_SHA256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
  /** This service's public origin, e.g. `https://verify.example` (default: from each request's Host). */
  PUBLIC_ORIGIN: Type.Optional(Type.String({ pattern: '^https?://[^/?#@\\s]+$' })),
  /** Trust `X-Forwarded-*` from a proxy in front (client addresses for rate limits, https). */
  TRUST_PROXY: Type.Boolean({ default: false }),
  /** Requests per minute per client address (all routes). */
  RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, default: 600 }),
  /** Requests per minute per API key on the tenant routes. */
  KEY_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, default: 1200 }),
  /** Failed live attempts (verdict not_matched) before a session is ended. */
  MAX_FAILED_ATTEMPTS_PER_SESSION: Type.Integer({ minimum: 1, default: 5 }),
  /** Failed live attempts per client address per hour before it may not start another stream. */
  MAX_FAILED_ATTEMPTS_PER_DEVICE: Type.Integer({ minimum: 1, default: 20 }),
  /**
   * Messages per second, and at once, one session stream socket may send (text and binary); past
   * that it is closed with MESSAGE_RATE_EXCEEDED (see apps/server/src/message-budget.ts).
   */
  WS_MESSAGES_PER_SECOND: Type.Number({ exclusiveMinimum: 0, default: 120 }),
  WS_MESSAGE_BURST: Type.Integer({ minimum: 1, default: 240 }),
  /** The same for an operator feed socket (operators click; each subscribe sends a timeline). */
  OPS_MESSAGES_PER_SECOND: Type.Number({ exclusiveMinimum: 0, default: 50 }),
  OPS_MESSAGE_BURST: Type.Integer({ minimum: 1, default: 100 }),
  /**
   * Liveness of sessions whose tenant does not choose: `active` (challenges the person answers on
   * camera; a photo or a replayed recording fails) or `off` (matching only). See docs/liveness.md.
   */
  LIVENESS: Type.Union([Type.Literal('active'), Type.Literal('off')], { default: 'active' }),
  /**
   * The actions challenges are drawn from (comma-separated; a session may narrow them). `blink` is
   * not offered by default: the landmark net follows eyelids too little to see one (docs/liveness.md).
   */
  LIVENESS_ACTIONS: Type.String({ minLength: 1, default: 'smile,open_mouth,turn_left,turn_right' }),
  /** Challenges per sequence (distinct actions; at most LIVENESS_ACTIONS). */
  LIVENESS_CHALLENGES: Type.Integer({ minimum: 1, maximum: 5, default: 3 }),
  /** Further sequences a person may start after a failed one (each failure counts as a failed attempt). */
  LIVENESS_RETRIES: Type.Integer({ minimum: 0, maximum: 4, default: 1 }),
  /** How long each challenge's window stays open, ms. */
  LIVENESS_WINDOW_MS: Type.Integer({ minimum: 1000, maximum: 30_000, default: 4000 }),
  /** The neutral lead-in before each challenge (the baseline its action is measured against), ms. */
  LIVENESS_NEUTRAL_MS: Type.Integer({ minimum: 300, maximum: 10_000, default: 1000 }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
});

export type Config = Static<typeof ConfigSchema>;

/**
 * Reads the configuration from the environment once, at start-up. A bad value throws an error
 * that names the setting, so a broken deployment stops before it serves anything.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config = envSchema<Config>({ schema: ConfigSchema, data: env, dotenv: false });
  parseIceServers(config.ICE_SERVERS);
  if (config.ROLE !== 'all' && config.REDIS_URL === undefined) {
    throw new Error(`ROLE=${config.ROLE} needs REDIS_URL (without it the server runs embedded, ROLE=all)`);
  }
  livenessDefaults(config); // a bad action list or count names its setting now
  if (config.METRICS_PORT !== undefined && config.METRICS_PORT !== 0 && config.METRICS_PORT === config.PORT) {
    throw new Error('METRICS_PORT must differ from PORT (it is a separate, internal listener)');
  }
  return config;
}

/** The embedder settings the configuration names (schema-checked provider list). */
export function embedderOptions(config: Config): EmbedderOptions {
  return {
    executionProviders: config.EXECUTION_PROVIDERS.split(',') as ExecutionProvider[],
    intraOpThreads: config.INTRA_OP_THREADS,
  };
}

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** Validates `ICE_SERVERS`; a malformed value names the setting. */
export function parseIceServers(text: string): IceServer[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('ICE_SERVERS must be a JSON array of {urls, username?, credential?}');
  }
  const valid =
    Array.isArray(value) &&
    value.every(
      (s) =>
        typeof s === 'object' &&
        s !== null &&
        (typeof s.urls === 'string' ||
          (Array.isArray(s.urls) && s.urls.every((u: unknown) => typeof u === 'string'))) &&
        (s.username === undefined || typeof s.username === 'string') &&
        (s.credential === undefined || typeof s.credential === 'string'),
    );
  if (!valid) throw new Error('ICE_SERVERS must be a JSON array of {urls, username?, credential?}');
  return value as IceServer[];
}
