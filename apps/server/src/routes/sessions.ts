import {
  LIVENESS_ACTIONS,
  CreateSessionFormSchema,
  ErrorBodySchema,
  SESSION_LIMITS,
  SessionCreatedSchema,
  SessionViewSchema,
} from '@fv/protocol';
import { VerificationError, type FaceVerifier } from '@fv/core';
import type { RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, RequestPayload } from 'fastify';
import type { AccessControl } from '../access.ts';
import { bodyError, checkBodyFraming } from '../body-errors.ts';
import type { Tenant } from '../tenants.ts';
import {
  sessionLivenessPolicy,
  type LivenessDefaults,
  type LivenessFields,
} from '../live/liveness-policy.ts';
import type { SessionStore } from '../live/session-store.ts';

const { maxReferences: MAX_REFERENCES, maxOrigins: MAX_ORIGINS } = SESSION_LIMITS;

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

async function readReferences(request: FastifyRequest, maxBytes: number): Promise<SessionForm> {
  try {
    return await readParts(request, maxBytes);
  } catch (error) {
    // A truncated or malformed form (busboy's errors, the part limits) is the client's: 4xx.
    throw (
      bodyError(error, {
        hint: `Send up to ${MAX_REFERENCES} reference files, ttlSeconds, up to ${MAX_ORIGINS} allowedOrigin fields and the liveness fields.`,
        request,
      }) ?? error
    );
  }
}

/** What the session form says. */
interface SessionForm {
  images: Buffer[];
  ttl?: number;
  origins: string[];
  liveness: LivenessFields;
}

/** Fields a form may have: ttlSeconds, the origins, and liveness (mode, challenges, retries, actions). */
const MAX_FIELDS = 1 + MAX_ORIGINS + 3 + LIVENESS_ACTIONS.length;

async function readParts(request: FastifyRequest, maxBytes: number): Promise<SessionForm> {
  const images: Buffer[] = [];
  const origins: string[] = [];
  const liveness: LivenessFields = { actions: [] };
  let ttl: number | undefined;
  for await (const part of request.parts({
    // `parts` too: the app's global multipart limits (2 parts, for /v1/verify) apply otherwise.
    limits: {
      fileSize: maxBytes,
      files: MAX_REFERENCES,
      fields: MAX_FIELDS,
      parts: MAX_REFERENCES + MAX_FIELDS,
      fieldSize: 4096,
    },
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
    } else if (part.fieldname === 'liveness') {
      liveness.mode = String(part.value);
    } else if (part.fieldname === 'livenessAction') {
      liveness.actions.push(String(part.value));
    } else if (part.fieldname === 'livenessChallenges') {
      liveness.challenges = String(part.value);
    } else if (part.fieldname === 'livenessRetries') {
      liveness.retries = String(part.value);
    } else {
      throw new VerificationError('BAD_REQUEST', `Unexpected field ${part.fieldname}.`);
    }
  }
  return { images, origins, liveness, ...(ttl !== undefined && { ttl }) };
}

export interface SessionRouteOptions {
  sessions: SessionStore;
  /** Tenants' API keys (or open mode), and the demo page's tenant. */
  access: AccessControl;
  /** The per-key rate limit (`@fastify/rate-limit` route config). */
  rateLimit?: RateLimitOptions;
  verifier: FaceVerifier;
  maxImageBytes: number;
  /** Distance threshold live verdicts use. */
  threshold: number;
  /** What a session's liveness is unless its tenant narrows it (the configuration's). */
  liveness: LivenessDefaults;
}

/**
 * `POST /v1/sessions` (multipart: 0–5 `reference` images, optional `ttlSeconds`, 0–5
 * `allowedOrigin` fields naming the sites that may frame its embed page) creates a session;
 * `GET /v1/sessions/:id` returns the server's result, which is the authority (never the browser's).
 */
export async function sessionRoutes(
  app: FastifyInstance,
  { sessions, verifier, maxImageBytes, threshold, access, rateLimit, liveness }: SessionRouteOptions,
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
    const form = await readReferences(request, maxImageBytes);
    const { images, ttl, origins } = form;
    if (ttl !== undefined && !Number.isFinite(ttl))
      throw new VerificationError('BAD_REQUEST', 'ttlSeconds must be a number.');
    const policy = sessionLivenessPolicy(form.liveness, liveness);
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
    // Past the tenant's concurrent sessions (counted across gateways in distributed mode): refused.
    const created = await sessions.create({
      reference: embeddings.length > 0 ? meanEmbedding(embeddings) : null,
      ...(ttl !== undefined && { ttlSeconds: ttl }),
      allowedOrigins: allowed,
      tenantId: tenant.id,
      maxConcurrent: tenant.maxConcurrentSessions,
      liveness: policy,
    });
    return reply.status(201).send({
      ...created,
      embedPath: `/embed?token=${encodeURIComponent(created.token)}`,
      allowedOrigins: allowed,
      liveness: policy.mode,
    });
  };

  const schema = {
    description: `Multipart form: 0–${MAX_REFERENCES} \`reference\` images (at most ${maxImageBytes} bytes each; their mean embedding is the reference, or the stream enrols one), optional \`ttlSeconds\`, 0–${MAX_ORIGINS} \`allowedOrigin\` fields naming the sites that may frame the embed page, and the session's liveness: \`liveness\` (\`active\` or \`off\`), \`livenessAction\` (repeat; a subset of the offered actions), \`livenessChallenges\`, \`livenessRetries\`. Returns the single-use browser token for the stream's hello.`,
    // Documentation only (openapi.ts): a `body` schema would have Fastify refuse multipart.
    documentedBody: {
      content: {
        'multipart/form-data': { schema: CreateSessionFormSchema },
      },
    },
    response: { 201: SessionCreatedSchema, '4xx': ErrorBodySchema, '5xx': ErrorBodySchema },
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
      // The freshest copy: a live stream here, else what the streaming gateway last shared.
      const record = await sessions.find(request.params.id);
      // Another tenant's session does not exist, as far as this caller can tell.
      if (!record || record.tenantId !== tenant.id) {
        throw new VerificationError('NOT_FOUND', 'No such session.');
      }
      if (record.expiresAt <= Date.now()) throw new VerificationError('SESSION_EXPIRED');
      const score = record.lastScore;
      return {
        sessionId: record.id,
        state: record.live
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
        liveness: record.liveness,
        decision: record.decision,
        updatedAt: score ? new Date(score.emittedAt).toISOString() : null,
        expiresAt: new Date(record.expiresAt).toISOString(),
      };
    },
  );
}
