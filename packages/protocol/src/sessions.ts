import { Type, type Static } from '@sinclair/typebox';
import { VerdictSchema } from './live.ts';

/** Bounds of `POST /v1/sessions` (and its demo twin). */
export const SESSION_LIMITS = {
  /** `reference` images at most. */
  maxReferences: 5,
  /** `allowedOrigin` fields at most. */
  maxOrigins: 5,
} as const;

/**
 * `POST /v1/sessions` body, a multipart form. Documentation only: the route reads the parts itself
 * (a Fastify `body` schema would refuse every upload), and the formats are OpenAPI's.
 */
export const CreateSessionFormSchema = Type.Object({
  /** Photos of the person; their mean embedding is the reference (none: the stream enrols one). */
  reference: Type.Optional(
    Type.Array(Type.String({ format: 'binary' }), { maxItems: SESSION_LIMITS.maxReferences }),
  ),
  /** How long the session (and its token) is valid. */
  ttlSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Bare origins (`https://host[:port]`) that may frame the embed page and receive its events. */
  allowedOrigin: Type.Optional(
    Type.Array(Type.String({ format: 'uri' }), { maxItems: SESSION_LIMITS.maxOrigins }),
  ),
});

/** `POST /v1/sessions` response (201). */
export const SessionCreatedSchema = Type.Object({
  sessionId: Type.String(),
  /** Single-use browser token for the stream's hello (and the embed page). */
  token: Type.String(),
  expiresAt: Type.String(),
  /** Path of the iframe page for this session (`/embed?token=…`). */
  embedPath: Type.String(),
  allowedOrigins: Type.Array(Type.String()),
});
export type SessionCreated = Static<typeof SessionCreatedSchema>;

/** `GET /v1/sessions/:id` response: the server's own result for the session. */
export const SessionViewSchema = Type.Object({
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
export type SessionView = Static<typeof SessionViewSchema>;
