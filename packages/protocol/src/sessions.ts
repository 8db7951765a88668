import { Type, type Static } from '@sinclair/typebox';
import { VerdictSchema, checker, parseWith, type Checker } from './live.ts';
import {
  DecisionSchema,
  LIVENESS_LIMITS,
  LivenessActionSchema,
  LivenessModeSchema,
  LivenessPolicySchema,
  LivenessStateSchema,
  type LivenessPolicy,
  type LivenessState,
} from './liveness.ts';

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
  /** Active liveness (challenges) or off (matching only). @defaultValue 'active' */
  liveness: Type.Optional(LivenessModeSchema),
  /**
   * The actions challenges are drawn from (repeat the field); the server's offered set by default.
   * An action the server does not offer is BAD_REQUEST.
   */
  livenessAction: Type.Optional(Type.Array(LivenessActionSchema, { maxItems: 5 })),
  /** Challenges per sequence (at most the number of actions). @defaultValue the server's (3) */
  livenessChallenges: Type.Optional(
    Type.Integer({ minimum: LIVENESS_LIMITS.minChallenges, maximum: LIVENESS_LIMITS.maxChallenges }),
  ),
  /** Sequences after a failed one the person may start (`liveness_retry`). @defaultValue 1 */
  livenessRetries: Type.Optional(Type.Integer({ minimum: 0, maximum: LIVENESS_LIMITS.maxAttempts - 1 })),
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
  liveness: LivenessModeSchema,
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
  liveness: LivenessStateSchema,
  /** `verified` only when the face matched and liveness passed (or is off). */
  decision: DecisionSchema,
  updatedAt: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.String(),
});
export type SessionView = Static<typeof SessionViewSchema>;

// A session's liveness policy and state, as stored with it (shared between gateways).
let checks: { state: Checker; policy: Checker } | null = null;
const checkers = (): { state: Checker; policy: Checker } =>
  (checks ??= { state: checker(LivenessStateSchema), policy: checker(LivenessPolicySchema) });
const never = (): boolean => false;

/** Parses a stored liveness state (JSON text or a value); throws `ProtocolError`. */
export function parseLivenessState(raw: unknown): LivenessState {
  return parseWith<typeof LivenessStateSchema>(checkers().state, raw, 'liveness state', 16 * 1024, never);
}

/** Parses a stored liveness policy (JSON text or a value); throws `ProtocolError`. */
export function parseLivenessPolicy(raw: unknown): LivenessPolicy {
  return parseWith<typeof LivenessPolicySchema>(checkers().policy, raw, 'liveness policy', 4 * 1024, never);
}
