import { Type, type Static } from '@sinclair/typebox';
import { DecisionSchema, LivenessStateSchema, LivenessStatusSchema } from './liveness.ts';
import {
  ErrorMessageSchema,
  TransportSchema,
  VerdictSchema,
  checker,
  parseWith,
  type Checker,
} from './live.ts';

/**
 * The operator channel, `WS /v1/ops`: the server pushes an `ops_snapshot` every second; a client
 * may follow one session (`ops_subscribe`) and then gets its timeline (`ops_session_detail`) and,
 * each second, the points added since (`ops_session_points`).
 */
export const OPS_LIMITS = {
  /** Largest client frame accepted, in bytes (client messages are tiny). */
  maxClientMessageBytes: 4 * 1024,
  /** Largest server frame a client accepts, in bytes. */
  maxServerMessageBytes: 4 * 1024 * 1024,
  /** Sessions listed in one snapshot at most (newest first); the rest are only counted. */
  maxSessions: 500,
  /** Smoothed distances in a row's sparkline. */
  sparklinePoints: 60,
  /** Points kept per session timeline. */
  timelinePoints: 600,
  /** Snapshot cadence, ms. */
  intervalMs: 1000,
} as const;

const strict = { additionalProperties: false } as const;
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);
const SessionIdSchema = Type.String({ minLength: 1, maxLength: 64 });

/**
 * What an operator sees a session doing. `waiting`: created, no stream yet; `disconnected`: its
 * stream ended and it may resume until it expires; the others are the stream's own states.
 */
export const OpsSessionStateSchema = Type.Union([
  Type.Literal('waiting'),
  Type.Literal('awaiting_enrolment'),
  Type.Literal('awaiting_media'),
  Type.Literal('streaming'),
  Type.Literal('degraded'),
  Type.Literal('disconnected'),
]);
export type OpsSessionState = Static<typeof OpsSessionStateSchema>;

/** The session's transport; null while it has no stream. */
export const OpsTransportSchema = Type.Union([...TransportSchema.anyOf, Type.Null()]);
export type OpsTransport = Static<typeof OpsTransportSchema>;

/** One analysed frame of a session's timeline. */
export const OpsPointSchema = Type.Object(
  {
    /** When the score was emitted, ms since the epoch. */
    t: Type.Number(),
    distance: NullableNumber,
    smoothedDistance: NullableNumber,
    similarity: NullableNumber,
    verdict: VerdictSchema,
  },
  strict,
);
export type OpsPoint = Static<typeof OpsPointSchema>;

export const OpsSessionSchema = Type.Object(
  {
    sessionId: SessionIdSchema,
    state: OpsSessionStateSchema,
    verdict: VerdictSchema,
    distance: NullableNumber,
    smoothedDistance: NullableNumber,
    /** Distance threshold of the session's verdicts. */
    threshold: Type.Number(),
    /** Frames analysed per second, measured over the last seconds. */
    fps: Type.Number({ minimum: 0 }),
    /** Analysis rate the session runs at now (lower than asked when the server is behind). */
    targetFps: Type.Number({ minimum: 0 }),
    framesReceived: Type.Integer({ minimum: 0 }),
    framesAnalysed: Type.Integer({ minimum: 0 }),
    droppedFrames: Type.Integer({ minimum: 0 }),
    transport: OpsTransportSchema,
    liveness: LivenessStatusSchema,
    decision: DecisionSchema,
    /** ISO 8601. */
    createdAt: Type.String(),
    expiresAt: Type.String(),
    ageSeconds: Type.Number({ minimum: 0 }),
    /** The last smoothed distances, oldest first (null: no single face in that frame). */
    sparkline: Type.Array(NullableNumber, { maxItems: OPS_LIMITS.sparklinePoints }),
  },
  strict,
);
export type OpsSession = Static<typeof OpsSessionSchema>;

export const OpsSystemSchema = Type.Object(
  {
    /** Sessions not yet expired, and those with an open stream. */
    sessions: Type.Integer({ minimum: 0 }),
    liveSessions: Type.Integer({ minimum: 0 }),
    framesPerSecond: Type.Number({ minimum: 0 }),
    droppedPerSecond: Type.Number({ minimum: 0 }),
    /** Embedding jobs waiting in the queue; null in the embedded mode (no queue). */
    queueDepth: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
    /** Model batches by size over the last minute, ascending size, sizes with no batch left out. */
    batchHistogram: Type.Array(
      Type.Object({ size: Type.Integer({ minimum: 1 }), count: Type.Integer({ minimum: 1 }) }, strict),
      { maxItems: 1024 },
    ),
    /** Frame → score latency over the last 30 s; null without frames. */
    latencyMs: Type.Object({ p50: NullableNumber, p95: NullableNumber }, strict),
    /** `embedded`, or `distributed (<role>)`. */
    mode: Type.String(),
  },
  strict,
);
export type OpsSystem = Static<typeof OpsSystemSchema>;

// Server → client
export const OpsSnapshotSchema = Type.Object(
  {
    type: Type.Literal('ops_snapshot'),
    /** ms since the epoch. */
    at: Type.Number(),
    system: OpsSystemSchema,
    /** Newest first, at most `OPS_LIMITS.maxSessions`. */
    sessions: Type.Array(OpsSessionSchema, { maxItems: OPS_LIMITS.maxSessions }),
    /** Sessions left out of `sessions` by the bound. */
    omitted: Type.Integer({ minimum: 0 }),
  },
  strict,
);
export const OpsSessionDetailSchema = Type.Object(
  {
    type: Type.Literal('ops_session_detail'),
    sessionId: SessionIdSchema,
    /** Oldest first; replaces any timeline the client holds for this session. */
    timeline: Type.Array(OpsPointSchema, { maxItems: OPS_LIMITS.timelinePoints }),
    /** Its liveness, with each challenge's window and decision time (the timeline's marks). */
    liveness: LivenessStateSchema,
  },
  strict,
);
export const OpsSessionPointsSchema = Type.Object(
  {
    type: Type.Literal('ops_session_points'),
    sessionId: SessionIdSchema,
    /** Points since the last detail or points message, oldest first. */
    points: Type.Array(OpsPointSchema, { maxItems: OPS_LIMITS.timelinePoints }),
    liveness: LivenessStateSchema,
  },
  strict,
);
export const OpsServerMessageSchema = Type.Union([
  OpsSnapshotSchema,
  OpsSessionDetailSchema,
  OpsSessionPointsSchema,
  ErrorMessageSchema,
]);
export type OpsServerMessage = Static<typeof OpsServerMessageSchema>;
export type OpsSnapshotMessage = Static<typeof OpsSnapshotSchema>;
export type OpsSessionDetailMessage = Static<typeof OpsSessionDetailSchema>;
export type OpsSessionPointsMessage = Static<typeof OpsSessionPointsSchema>;

// Client → server
export const OpsSubscribeSchema = Type.Object(
  { type: Type.Literal('ops_subscribe'), sessionId: SessionIdSchema },
  strict,
);
export const OpsUnsubscribeSchema = Type.Object({ type: Type.Literal('ops_unsubscribe') }, strict);
export const OpsClientMessageSchema = Type.Union([OpsSubscribeSchema, OpsUnsubscribeSchema]);
export type OpsClientMessage = Static<typeof OpsClientMessageSchema>;

let checkers: { client: Checker; server: Checker } | null = null;
const checks = (): { client: Checker; server: Checker } =>
  (checkers ??= { client: checker(OpsClientMessageSchema), server: checker(OpsServerMessageSchema) });
const never = (): boolean => false;

/** Parses an untrusted operator-client frame; throws `ProtocolError` (`BAD_MESSAGE`). */
export function parseOpsClientMessage(raw: unknown): OpsClientMessage {
  return parseWith<typeof OpsClientMessageSchema>(
    checks().client,
    raw,
    'ops client message',
    OPS_LIMITS.maxClientMessageBytes,
    never,
  );
}

/** Parses an untrusted ops server frame (the dashboard uses this). */
export function parseOpsServerMessage(raw: unknown): OpsServerMessage {
  return parseWith<typeof OpsServerMessageSchema>(
    checks().server,
    raw,
    'ops server message',
    OPS_LIMITS.maxServerMessageBytes,
    never,
  );
}

/** `POST /v1/ops/login`'s body: the operator's own credential (never a tenant key), sent once. */
export const OpsLoginBodySchema = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 512 }) },
  { additionalProperties: false },
);
export type OpsLoginBody = Static<typeof OpsLoginBodySchema>;
