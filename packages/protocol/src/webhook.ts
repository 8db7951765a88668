import { Type, type Static } from '@sinclair/typebox';
import { VerdictSchema, checker, parseWith, type Checker } from './live.ts';
import { DecisionSchema, LivenessStateSchema } from './liveness.ts';

/**
 * The webhooks a tenant receives, server to server: a signed JSON `POST` to the tenant's webhook
 * URL (headers below), delivered at least once (receivers de-duplicate on `id`). A receiver checks
 * the signature over the raw body first, then parses the body with {@link parseWebhookEvent}.
 */
export const WEBHOOK_HEADERS = {
  /** The event's `type`. */
  event: 'x-fv-event',
  /** The event's `id`, the same for every attempt. */
  delivery: 'x-fv-delivery',
  /** Unix seconds of this attempt; signed with the body. */
  timestamp: 'x-fv-timestamp',
  /** `v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` with the tenant's webhook secret. */
  signature: 'x-fv-signature',
} as const;

export const WEBHOOK_LIMITS = {
  /** Largest body a receiver parses, in bytes (an event is a few hundred). */
  maxBodyBytes: 16 * 1024,
} as const;

const strict = { additionalProperties: false } as const;
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);

/** A session finished: the server's result, never the browser's. */
export const SessionFinishedEventSchema = Type.Object(
  {
    type: Type.Literal('session.finished'),
    /** Unique per event, the same for every delivery attempt: receivers de-duplicate with it. */
    id: Type.String({ minLength: 1, maxLength: 128 }),
    tenantId: Type.String({ minLength: 1, maxLength: 128 }),
    sessionId: Type.String({ minLength: 1, maxLength: 64 }),
    /** Why it finished: the client said bye, too many failed attempts, or it reached its end of life. */
    reason: Type.Union([Type.Literal('bye'), Type.Literal('expired'), Type.Literal('too_many_attempts')]),
    /** The last verdict (`pending` when no frame was analysed). */
    verdict: VerdictSchema,
    distance: NullableNumber,
    smoothedDistance: NullableNumber,
    similarity: NullableNumber,
    /** Distance threshold of the session's verdicts. */
    threshold: Type.Number(),
    framesAnalysed: Type.Integer({ minimum: 0 }),
    /** The session's liveness: its mode, the last sequence's challenges and their reasons. */
    liveness: LivenessStateSchema,
    /** `verified` only when the face matched and liveness passed (or is off). */
    decision: DecisionSchema,
    /** ISO 8601. */
    finishedAt: Type.String({ minLength: 1, maxLength: 64 }),
  },
  strict,
);
export type SessionFinishedEvent = Static<typeof SessionFinishedEventSchema>;

/** Every webhook event, told apart by `type` (one so far). */
export const WebhookEventSchema = Type.Union([SessionFinishedEventSchema]);
export type WebhookEvent = Static<typeof WebhookEventSchema>;

let check: Checker | null = null;
const never = (): boolean => false;

/**
 * Parses a webhook body (the raw text, after its signature was verified); throws `ProtocolError`
 * (`BAD_MESSAGE`).
 */
export function parseWebhookEvent(body: unknown): WebhookEvent {
  return parseWith<typeof WebhookEventSchema>(
    (check ??= checker(WebhookEventSchema)),
    body,
    'webhook event',
    WEBHOOK_LIMITS.maxBodyBytes,
    never,
  );
}
