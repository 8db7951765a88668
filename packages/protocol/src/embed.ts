import { Type, type Static } from '@sinclair/typebox';
import { LIVE_LIMITS, TransportSchema, VerdictSchema, checker, parseWith, type Checker } from './live.ts';
import { DecisionSchema, LivenessActionSchema, LivenessStateSchema } from './liveness.ts';

/**
 * The embed page's `postMessage` contract (`/embed`, framed by a tenant's page, the _host_): the
 * events it posts to the host page, and the one message it accepts from it. The events are UX
 * hints; the host's backend reads the authoritative result with `GET /v1/sessions/:id`.
 */
export const EMBED_SOURCE = 'fv-embed';
export const EMBED_VERSION = 2;
/** The `source` of the host page's messages to the embed page. */
export const HOST_SOURCE = 'fv-host';

const strict = { additionalProperties: false } as const;
/** `source`, `version` and `sessionId`, on every event. */
const envelope = {
  source: Type.Literal(EMBED_SOURCE),
  version: Type.Literal(EMBED_VERSION),
  /** The session the embed page's token names. */
  sessionId: Type.String({ maxLength: 64 }),
};
/** The smoothed embedding distance the verdict is based on (the raw one when there is none yet). */
const DistanceSchema = Type.Union([Type.Number({ minimum: 0 }), Type.Null()]);
const SimilaritySchema = Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]);
/** A server error code, or one of the browser's (`CAMERA_DENIED`, `DISCONNECTED`, …). */
const CodeSchema = Type.String({ minLength: 1, maxLength: 64 });

/** The page has loaded (once). */
export const EmbedReadySchema = Type.Object({ ...envelope, type: Type.Literal('ready') }, strict);
/** The camera streams to the server, over this transport. */
export const EmbedStartedSchema = Type.Object(
  { ...envelope, type: Type.Literal('started'), transport: TransportSchema },
  strict,
);
/** A live score, at most 2 per second (the newest value is always sent). */
export const EmbedScoreSchema = Type.Object(
  {
    ...envelope,
    type: Type.Literal('score'),
    distance: DistanceSchema,
    similarity: SimilaritySchema,
    verdict: VerdictSchema,
  },
  strict,
);
/** The verdict changed. */
export const EmbedVerdictSchema = Type.Object(
  {
    ...envelope,
    type: Type.Literal('verdict'),
    verdict: VerdictSchema,
    distance: DistanceSchema,
    similarity: SimilaritySchema,
  },
  strict,
);
/** A liveness challenge was asked: the person should do `action` within `windowMs`. */
export const EmbedChallengeSchema = Type.Object(
  {
    ...envelope,
    type: Type.Literal('challenge'),
    index: Type.Integer({ minimum: 0 }),
    count: Type.Integer({ minimum: 1 }),
    action: LivenessActionSchema,
    windowMs: Type.Integer({ minimum: 1 }),
  },
  strict,
);
/** Liveness changed (a sequence drawn, a challenge passed or failed), with the decision so far. */
export const EmbedLivenessSchema = Type.Object(
  { ...envelope, type: Type.Literal('liveness'), liveness: LivenessStateSchema, decision: DecisionSchema },
  strict,
);
/** An error; a fatal one ends the session. */
export const EmbedErrorSchema = Type.Object(
  {
    ...envelope,
    type: Type.Literal('error'),
    code: CodeSchema,
    message: Type.String({ maxLength: LIVE_LIMITS.maxMessageBytes }),
    fatal: Type.Boolean(),
  },
  strict,
);
/** The session ended: `reason` is `stopped` (by the user or the host) or the fatal error's code. */
export const EmbedFinishedSchema = Type.Object(
  {
    ...envelope,
    type: Type.Literal('finished'),
    verdict: VerdictSchema,
    distance: DistanceSchema,
    decision: DecisionSchema,
    reason: CodeSchema,
  },
  strict,
);
/** What the embed page posts to the host page. */
export const EmbedMessageSchema = Type.Union([
  EmbedReadySchema,
  EmbedStartedSchema,
  EmbedScoreSchema,
  EmbedVerdictSchema,
  EmbedChallengeSchema,
  EmbedLivenessSchema,
  EmbedErrorSchema,
  EmbedFinishedSchema,
]);
export type EmbedMessage = Static<typeof EmbedMessageSchema>;
export type EmbedMessageType = EmbedMessage['type'];

/**
 * The one message the embed page accepts from the host page: stop the check (it answers with
 * `finished`). Other fields are ignored, as they always were.
 */
export const EmbedStopSchema = Type.Object({ source: Type.Literal(HOST_SOURCE), type: Type.Literal('stop') });
export type EmbedStop = Static<typeof EmbedStopSchema>;

let checkers: { message: Checker; stop: Checker } | null = null;
const checks = (): { message: Checker; stop: Checker } =>
  (checkers ??= { message: checker(EmbedMessageSchema), stop: checker(EmbedStopSchema) });
const never = (): boolean => false;
/** An event as JSON text: the longest error message, and the rest. */
const MAX_TEXT_BYTES = LIVE_LIMITS.maxMessageBytes + 1024;

/**
 * Parses a `message` event's `data` on the host page (after checking `event.origin` and
 * `event.source`); throws `ProtocolError` (`BAD_MESSAGE`) for anything that is not an embed event.
 * Works under a Content-Security-Policy without `'unsafe-eval'`.
 */
export function parseEmbedMessage(data: unknown): EmbedMessage {
  return parseWith<typeof EmbedMessageSchema>(checks().message, data, 'embed message', MAX_TEXT_BYTES, never);
}

/** Whether a `message` event's `data` is the host page's `stop` (the embed page asks this). */
export function isEmbedStop(data: unknown): data is EmbedStop {
  return checks().stop.Check(data);
}
