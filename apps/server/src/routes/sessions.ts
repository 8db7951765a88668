import { ErrorBodySchema, VerdictSchema } from '@fv/protocol';
import { VerificationError, type FaceVerifier } from '@fv/core';
import { Type } from '@sinclair/typebox';
import type { RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, RequestPayload } from 'fastify';
import type { AccessControl } from '../access.ts';
import { bodyError, checkBodyFraming } from '../body-errors.ts';
import type { Tenant } from '../tenants.ts';
import type { RedisSessionMirror } from '../distributed/session-mirror.ts';
import type { SessionManager } from '../live/session-manager.ts';

const MAX_REFERENCES = 5;
const MAX_ORIGINS = 5;

/**
 * An origin a session's embed may be framed by and post to: `http(s)://host[:port]`, nothing
 * else (no path, no wildcard); returned in its canonical form.
 */
export function parseOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new VerificationError(
      'BAD_REQUEST',
      `allowedOrigin ${JSON.stringify(value.slice(0, 100))} is not a URL.`,
    );
  }
  const bare =
    url.pathname === '/' && !value.endsWith('?') && !url.search && !url.hash && !value.includes('@');
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !bare) {
    throw new VerificationError(
      'BAD_REQUEST',
      `allowedOrigin must be a bare origin such as https://shop.example (got ${JSON.stringify(value.slice(0, 100))}).`,
    );
  }
  return url.origin;
}

const CreatedSchema = Type.Object({
  sessionId: Type.String(),
  /** Single-use browser token for the stream's hello (and the embed page). */
  token: Type.String(),
  expiresAt: Type.String(),
  /** Path of the iframe page for this session (`/embed?token=…`). */
  embedPath: Type.String(),
  allowedOrigins: Type.Array(Type.String()),
});
const SessionViewSchema = Type.Object({
  sessionId: Type.String(),
  state: Type.Union([Type.Literal('created'), Type.Literal('streaming'), Type.Literal('ended')]),
  enrolled: Type.Boolean(),
  verdict: VerdictSchema,
  distance: Type.Union([Type.Number(), Type.Null()]),
  smoothedDistance: Type.Union([Type.Number(), Type.Null()]),
  similarity: Type.Union([Type.Number(), Type.Null()]),
  threshold: Type.Number(),
  framesAnalysed: Type.Integer(),
  updatedAt: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.String(),
});

/** Mean of unit embeddings, renormalised: a steadier reference than any single photo. */
export function meanEmbedding(embeddings: Float32Array[]): Float32Array {
  const out = new Float32Array(embeddings[0]!.length);
  for (const e of embeddings) for (let i = 0; i < out.length; i++) out[i]! += e[i]!;
  const norm = Math.hypot(...out) || 1;
  for (let i = 0; i < out.length; i++) out[i]! /= norm;
  return out;
}

/** What `POST /v1/sessions` reads (a body of any other type or encoding is 415). */
const ACCEPTS = ['multipart/form-data'] as const;

async function readReferences(
  request: FastifyRequest,
  maxBytes: number,
): Promise<{ images: Buffer[]; ttl?: number; origins: string[] }> {
  try {
    return await readParts(request, maxBytes);
  } catch (error) {
    // A truncated or malformed form (busboy's errors, the part limits) is the client's: 4xx.
    throw (
      bodyError(error, {
        hint: `Send up to ${MAX_REFERENCES} reference files, ttlSeconds and up to ${MAX_ORIGINS} allowedOrigin fields.`,
        request,
      }) ?? error
    );
  }
}

async function readParts(
  request: FastifyRequest,
  maxBytes: number,
): Promise<{ images: Buffer[]; ttl?: number; origins: string[] }> {
  const images: Buffer[] = [];
  const origins: string[] = [];
  let ttl: number | undefined;
  for await (const part of request.parts({
    limits: { fileSize: maxBytes, files: MAX_REFERENCES, fields: 1 + MAX_ORIGINS, fieldSize: 4096 },
  })) {
    if (part.type === 'file') {
      if (part.fieldname !== 'reference')
        throw new VerificationError('BAD_REQUEST', `Unexpected file field ${part.fieldname}.`);
      const data = await part.toBuffer();
      if (part.file.truncated) throw VerificationError.imageTooLarge(data.length, maxBytes);
      images.push(data);
    } else if (part.fieldname === 'ttlSeconds') {
      ttl = Number(part.value);
    } else if (part.fieldname === 'allowedOrigin') {
      const origin = parseOrigin(String(part.value));
      if (!origins.includes(origin)) origins.push(origin);
    } else {
      throw new VerificationError('BAD_REQUEST', `Unexpected field ${part.fieldname}.`);
    }
  }
  return { images, origins, ...(ttl !== undefined && { ttl }) };
}

export interface SessionRouteOptions {
  sessions: SessionManager;
  /** Tenants' API keys (or open mode), and the demo page's tenant. */
  access: AccessControl;
  /** The per-key rate limit (`@fastify/rate-limit` route config). */
  rateLimit?: RateLimitOptions;
  verifier: FaceVerifier;
  maxImageBytes: number;
  /** Distance threshold live verdicts use. */
  threshold: number;
  /** Distributed mode: session state shared through Redis. */
  mirror?: RedisSessionMirror | null;
}

/**
 * `POST /v1/sessions` (multipart: 0–5 `reference` images, optional `ttlSeconds`, 0–5
 * `allowedOrigin` fields naming the sites that may frame its embed page) creates a session;
 * `GET /v1/sessions/:id` returns the server's result, which is the authority (never the browser's).
 */
export async function sessionRoutes(
  app: FastifyInstance,
  { sessions, verifier, maxImageBytes, threshold, mirror = null, access, rateLimit }: SessionRouteOptions,
): Promise<void> {
  const routeConfig = rateLimit ? { config: { rateLimit } } : {};
  const tenantOf = new WeakMap<FastifyRequest, Tenant>();
  const demo = new WeakSet<FastifyRequest>();

  const create = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const tenant = tenantOf.get(request)!;
    if (!request.isMultipart()) {
      throw new VerificationError(
        'BAD_REQUEST',
        'Send multipart/form-data with reference image(s) and optional ttlSeconds.',
      );
    }
    const { images, ttl, origins } = await readReferences(request, maxImageBytes);
    if (ttl !== undefined && !Number.isFinite(ttl))
      throw new VerificationError('BAD_REQUEST', 'ttlSeconds must be a number.');
    const embeddings: Float32Array[] = [];
    for (const [i, image] of images.entries()) {
      try {
        embeddings.push((await verifier.embedImage(image)).embedding);
      } catch (error) {
        if (error instanceof VerificationError) {
          throw new VerificationError(error.code, `Reference ${i + 1}: ${error.message}`);
        }
        throw error;
      }
    }
    // A tenant may name only origins it registered; naming none means all of them. The demo
    // page's sessions are for our own pages only.
    let allowed: string[];
    if (demo.has(request)) allowed = [];
    else if (access.open) allowed = origins;
    else {
      const foreign = origins.find((origin) => !tenant.allowedOrigins.includes(origin));
      if (foreign) {
        throw new VerificationError(
          'ORIGIN_NOT_ALLOWED',
          `${foreign} is not among this tenant's registered origins.`,
        );
      }
      allowed = origins.length > 0 ? origins : [...tenant.allowedOrigins];
    }
    if (!mirror && sessions.activeFor(tenant.id) >= tenant.maxConcurrentSessions) {
      throw new VerificationError('TOO_MANY_SESSIONS');
    }
    const created = sessions.create(
      embeddings.length > 0 ? meanEmbedding(embeddings) : null,
      ttl,
      allowed,
      tenant.id,
    );
    const record = sessions.get(created.sessionId);
    if (
      mirror &&
      !(await mirror.admitSession(tenant.id, record.id, record.expiresAt, tenant.maxConcurrentSessions))
    ) {
      sessions.discard(record.id);
      throw new VerificationError('TOO_MANY_SESSIONS');
    }
    await mirror?.saveState(record);
    return reply.status(201).send({
      ...created,
      embedPath: `/embed?token=${encodeURIComponent(created.token)}`,
      allowedOrigins: allowed,
    });
  };

  const schema = {
    description: `Multipart form: 0–${MAX_REFERENCES} \`reference\` images (at most ${maxImageBytes} bytes each; their mean embedding is the reference, or the stream enrols one), optional \`ttlSeconds\`, and 0–${MAX_ORIGINS} \`allowedOrigin\` fields naming the sites that may frame the embed page. Returns the single-use browser token for the stream's hello.`,
    // Documentation only (openapi.ts): a `body` schema would have Fastify refuse multipart.
    documentedBody: {
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            properties: {
              reference: {
                type: 'array',
                maxItems: MAX_REFERENCES,
                items: { type: 'string', format: 'binary' },
              },
              ttlSeconds: { type: 'integer', minimum: 1 },
              allowedOrigin: {
                type: 'array',
                maxItems: MAX_ORIGINS,
                items: { type: 'string', format: 'uri' },
              },
            },
          },
        },
      },
    },
    response: { 201: CreatedSchema, '4xx': ErrorBodySchema, '5xx': ErrorBodySchema },
  };
  // Then the framing, still before the body is read: its encoding and content type.
  const preParsing = async (
    request: FastifyRequest,
    _reply: FastifyReply,
    payload: RequestPayload,
  ): Promise<RequestPayload> => {
    checkBodyFraming(request, ACCEPTS);
    return payload;
  };
  // Authentication comes first, before any upload is read.
  app.post(
    '/v1/sessions',
    {
      schema: { ...schema, summary: 'Create a live session', tags: ['sessions'], security: [{ apiKey: [] }] },
      ...routeConfig,
      onRequest: async (request) => {
        tenantOf.set(request, access.tenant(request));
      },
      preParsing,
    },
    create,
  );
  app.post(
    '/v1/demo/sessions',
    {
      schema: { ...schema, summary: 'Create a live session (demo page)', tags: ['demo'] },
      ...routeConfig,
      onRequest: async (request) => {
        tenantOf.set(request, access.demoTenant(request));
        demo.add(request);
      },
      preParsing,
    },
    create,
  );

  app.get<{ Params: { id: string } }>(
    '/v1/sessions/:id',
    {
      schema: {
        summary: 'A session’s result',
        description: 'The server’s own result for the session: the authority, never the browser’s.',
        tags: ['sessions'],
        security: [{ apiKey: [] }],
        response: { 200: SessionViewSchema, '4xx': ErrorBodySchema },
      },
      ...routeConfig,
    },
    async (request) => {
      const tenant = access.tenant(request);
      // Distributed mode: the gateway that streams the session writes its results to Redis, so
      // any gateway answers with the shared state; a local live stream is fresher still.
      const local = sessions.has(request.params.id) ? sessions.get(request.params.id) : null;
      const shared = mirror && !local?.live ? await mirror.load(request.params.id) : null;
      // Another tenant's session does not exist, as far as this caller can tell.
      if ((!local || local.tenantId !== tenant.id) && (!shared || shared.tenantId !== tenant.id)) {
        throw new VerificationError('NOT_FOUND', 'No such session.');
      }
      if (shared && shared.expiresAt <= Date.now()) throw new VerificationError('SESSION_EXPIRED');
      const record = local?.live ? local : (shared ?? local)!;
      const score = record.lastScore;
      return {
        sessionId: record.id,
        state: local?.live
          ? 'streaming'
          : record.tokenUsed
            ? score && Date.now() - score.emittedAt < 3000
              ? 'streaming' // streamed on another gateway, recently
              : 'ended'
            : 'created',
        enrolled: record.reference !== null,
        verdict: score?.verdict ?? 'pending',
        distance: score?.distance ?? null,
        smoothedDistance: score?.smoothedDistance ?? null,
        similarity: score?.similarity ?? null,
        threshold,
        framesAnalysed: record.framesAnalysed,
        updatedAt: score ? new Date(score.emittedAt).toISOString() : null,
        expiresAt: new Date(record.expiresAt).toISOString(),
      };
    },
  );
}
