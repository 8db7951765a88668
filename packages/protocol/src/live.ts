import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { ErrorCodeSchema } from './errors.ts';
import {
  ChallengeSchema,
  DecisionSchema,
  LivenessMessageSchema,
  LivenessRetrySchema,
  LivenessStateSchema,
  LivenessStatusSchema,
} from './liveness.ts';
import { FaceBoxSchema } from './verify.ts';

/** Bounds that keep one WebSocket frame cheap to parse. */
export const LIVE_LIMITS = {
  /** Largest JSON text frame accepted, in bytes. */
  maxMessageBytes: 64 * 1024,
  /** Largest SDP accepted, in characters. */
  maxSdpLength: 32 * 1024,
  /** Largest base64 reference image inside `enroll`, in characters (~6 MB of image). */
  maxEnrollImageLength: 8 * 1024 * 1024,
  /** Largest binary JPEG frame (fallback path), in bytes. */
  maxFrameBytes: 512 * 1024,
  minFps: 1,
  maxFps: 30,
} as const;

/** An ICE candidate as `RTCIceCandidateInit` has it (trickled both ways, and to the WebRTC host). */
export const IceCandidateSchema = Type.Object(
  {
    candidate: Type.String({ maxLength: 2048 }),
    sdpMid: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    sdpMLineIndex: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 64 }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type IceCandidate = Static<typeof IceCandidateSchema>;

/** A STUN/TURN server as `RTCIceServer` has it (other `RTCIceServer` fields pass through). */
export const IceServerSchema = Type.Object({
  urls: Type.Union([Type.String(), Type.Array(Type.String())]),
  username: Type.Optional(Type.String()),
  credential: Type.Optional(Type.String()),
});
export type IceServer = Static<typeof IceServerSchema>;

const strict = { additionalProperties: false } as const;

// Client → server
export const HelloSchema = Type.Object(
  {
    type: Type.Literal('hello'),
    protocol: Type.Integer({ minimum: 1 }),
    token: Type.String({ minLength: 16, maxLength: 512 }),
  },
  strict,
);
/**
 * A browser token has the form `<sessionId>.<secret>` (`hello`, `welcome.resumeToken`, the embed
 * link): the session id it names, or null when it has none. Says nothing about its validity.
 */
export function sessionIdOfToken(token: string): string | null {
  const dot = token.indexOf('.');
  return dot > 0 ? token.slice(0, dot) : null;
}

/**
 * The form of the tokens the server issues: `ses_` and 16 base64url characters (the session id),
 * a dot, and 32 base64url characters (the secret).
 */
export const BROWSER_TOKEN_PATTERN = /^ses_[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{32}$/;

/**
 * Whether a token has the form the server issues (which {@link sessionIdOfToken} does not ask):
 * the server refuses any other before it looks a session up. Says nothing about its validity.
 */
export function isWellFormedToken(token: string): boolean {
  return BROWSER_TOKEN_PATTERN.test(token);
}

export const OfferSchema = Type.Object(
  { type: Type.Literal('offer'), sdp: Type.String({ minLength: 1, maxLength: LIVE_LIMITS.maxSdpLength }) },
  strict,
);
export const IceSchema = Type.Object(
  { type: Type.Literal('ice'), candidate: Type.Union([IceCandidateSchema, Type.Null()]) },
  strict,
);
/** Where an enrolment's reference face comes from: an uploaded image, or the next live frame. */
export const EnrolmentSourceSchema = Type.Union([Type.Literal('image'), Type.Literal('frame')]);
export type EnrolmentSource = Static<typeof EnrolmentSourceSchema>;

export const EnrollSchema = Type.Union([
  Type.Object(
    {
      type: Type.Literal('enroll'),
      source: Type.Literal('image'),
      image: Type.String({ minLength: 4, maxLength: LIVE_LIMITS.maxEnrollImageLength }),
    },
    strict,
  ),
  Type.Object({ type: Type.Literal('enroll'), source: Type.Literal('frame') }, strict),
]);
export const ConfigSchema = Type.Object(
  {
    type: Type.Literal('config'),
    fps: Type.Number({ minimum: LIVE_LIMITS.minFps, maximum: LIVE_LIMITS.maxFps }),
  },
  strict,
);
export const ByeSchema = Type.Object({ type: Type.Literal('bye') }, strict);

export const ClientMessageSchema = Type.Union([
  HelloSchema,
  OfferSchema,
  IceSchema,
  EnrollSchema,
  ConfigSchema,
  ByeSchema,
  LivenessRetrySchema,
]);
export type ClientMessage = Static<typeof ClientMessageSchema>;

// Server → client
export const VerdictSchema = Type.Union([
  Type.Literal('pending'),
  Type.Literal('matched'),
  Type.Literal('not_matched'),
  Type.Literal('no_face'),
  Type.Literal('multiple_faces'),
]);
export type Verdict = Static<typeof VerdictSchema>;

export const QualityFlagSchema = Type.Union([
  Type.Literal('too_small'),
  Type.Literal('too_dark'),
  Type.Literal('too_bright'),
  Type.Literal('blurry'),
  Type.Literal('off_centre'),
]);
export type QualityFlag = Static<typeof QualityFlagSchema>;

/** How a stream's frames reach the server: a WebRTC video track, or JPEG frames on the socket. */
export const TransportSchema = Type.Union([Type.Literal('webrtc'), Type.Literal('jpeg')]);
export type Transport = Static<typeof TransportSchema>;

/**
 * The similarity at the session's match threshold: the calibration that gives `score.similarity`,
 * at `score.threshold`. A similarity gauge marks the threshold here.
 */
const ThresholdSimilaritySchema = Type.Number({ minimum: 0, maximum: 1 });

export const WelcomeSchema = Type.Object(
  {
    type: Type.Literal('welcome'),
    protocol: Type.Integer(),
    sessionId: Type.String(),
    iceServers: Type.Array(IceServerSchema),
    limits: Type.Object({
      maxFps: Type.Number(),
      maxMessageBytes: Type.Integer(),
      maxFrameBytes: Type.Integer(),
      /** ISO 8601. */
      expiresAt: Type.String({ minLength: 1 }),
    }),
    /**
     * What the server analyses: at most `fps` frames per second, best at `width`×`height` or less.
     * Clients send no more (`RTCRtpSender` `maxFramerate`, `scaleResolutionDownBy`): every frame
     * sent is decoded, and one the server then skips is decoded for nothing.
     */
    analysis: Type.Object(
      {
        fps: Type.Number({ minimum: LIVE_LIMITS.minFps, maximum: LIVE_LIMITS.maxFps }),
        width: Type.Integer({ minimum: 1 }),
        height: Type.Integer({ minimum: 1 }),
      },
      strict,
    ),
    enrolled: Type.Boolean(),
    thresholdSimilarity: ThresholdSimilaritySchema,
    /** The session's liveness so far (its mode is the tenant's choice). */
    liveness: LivenessStateSchema,
    /**
     * A fresh single-use token for this session, replacing the one just spent: a client whose
     * connection drops says hello again with it (each hello issues the next one).
     */
    resumeToken: Type.String({ minLength: 16, maxLength: 512 }),
  },
  strict,
);
export const AnswerSchema = Type.Object({ type: Type.Literal('answer'), sdp: Type.String() }, strict);
export const ScoreSchema = Type.Object(
  {
    type: Type.Literal('score'),
    frameId: Type.Integer({ minimum: 0 }),
    /** When the frame was captured / received, ms since the epoch. */
    capturedAt: Type.Number(),
    emittedAt: Type.Number(),
    box: Type.Union([FaceBoxSchema, Type.Null()]),
    faceCount: Type.Integer({ minimum: 0 }),
    quality: Type.Array(QualityFlagSchema),
    distance: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
    smoothedDistance: Type.Union([Type.Number({ minimum: 0 }), Type.Null()]),
    similarity: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()]),
    verdict: VerdictSchema,
    threshold: Type.Number(),
    /** The session's liveness after this frame (details in `liveness` messages). */
    liveness: LivenessStatusSchema,
    /** `verified` only when the face matched and liveness passed (or is off). */
    decision: DecisionSchema,
  },
  strict,
);
export const StateSchema = Type.Object(
  {
    type: Type.Literal('state'),
    state: Type.Union([
      Type.Literal('awaiting_enrolment'),
      Type.Literal('awaiting_media'),
      Type.Literal('streaming'),
      Type.Literal('degraded'),
      Type.Literal('closed'),
    ]),
    analysisFps: Type.Number(),
    thresholdSimilarity: ThresholdSimilaritySchema,
    liveness: LivenessStatusSchema,
    reason: Type.Optional(Type.String()),
  },
  strict,
);
/**
 * The session took a reference: the answer to a successful `enroll` (from an image once it is
 * embedded, from a frame once a single-face frame was). A failed one is answered by an `error`.
 */
export const EnrolledSchema = Type.Object(
  { type: Type.Literal('enrolled'), source: EnrolmentSourceSchema },
  strict,
);
export const ErrorMessageSchema = Type.Object(
  {
    type: Type.Literal('error'),
    code: ErrorCodeSchema,
    message: Type.String(),
    /** The server closes the socket after a fatal error. */
    fatal: Type.Boolean(),
  },
  strict,
);
export const ServerMessageSchema = Type.Union([
  WelcomeSchema,
  AnswerSchema,
  IceSchema,
  ScoreSchema,
  StateSchema,
  EnrolledSchema,
  ChallengeSchema,
  LivenessMessageSchema,
  ErrorMessageSchema,
]);
export type ServerMessage = Static<typeof ServerMessageSchema>;
export type ScoreMessage = Static<typeof ScoreSchema>;
export type StateMessage = Static<typeof StateSchema>;
export type EnrolledMessage = Static<typeof EnrolledSchema>;

/** A frame that failed validation; `code` is always `BAD_MESSAGE`. */
export class ProtocolError extends Error {
  readonly code = 'BAD_MESSAGE' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** A schema check that can say what failed (the protocol's parsers share it). */
export interface Checker {
  Check(value: unknown): boolean;
  Errors(value: unknown): { First(): { path: string; message: string } | undefined };
}

/**
 * A compiled checker where code generation is allowed (Node), the interpreted one where it is not
 * (a browser page whose Content-Security-Policy has no `'unsafe-eval'`): same answers, both ways.
 */
export function checker(schema: TSchema): Checker {
  try {
    return TypeCompiler.Compile(schema);
  } catch {
    return { Check: (value) => Value.Check(schema, value), Errors: (value) => Value.Errors(schema, value) };
  }
}

let checkers: { client: Checker; server: Checker } | null = null;
const checks = (): { client: Checker; server: Checker } =>
  (checkers ??= { client: checker(ClientMessageSchema), server: checker(ServerMessageSchema) });

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();
/** UTF-8 length, counted only when the string could be over `limit` (≤ 3 bytes per UTF-16 unit). */
const overLimit = (raw: string | Uint8Array, limit: number): boolean =>
  typeof raw === 'string'
    ? raw.length > limit || (raw.length * 3 > limit && utf8.encode(raw).byteLength > limit)
    : raw.byteLength > limit;

/**
 * Parses an untrusted frame (JSON text, bytes or an already parsed value) against `check`, refusing
 * text over `maxBytes` unless `mayExceed` vouches for it (a schema with its own length bounds).
 */
export function parseWith<T extends TSchema>(
  check: Checker,
  raw: unknown,
  what: string,
  maxBytes: number = LIVE_LIMITS.maxMessageBytes,
  mayExceed: (raw: string | Uint8Array) => boolean = isEnrollCandidate,
): Static<T> {
  let value: unknown = raw;
  if (typeof raw === 'string' || raw instanceof Uint8Array) {
    if (overLimit(raw, maxBytes) && !mayExceed(raw)) {
      throw new ProtocolError(`${what} exceeds ${maxBytes} bytes`);
    }
    try {
      value = JSON.parse(typeof raw === 'string' ? raw : utf8Decoder.decode(raw));
    } catch {
      throw new ProtocolError(`${what} is not valid JSON`);
    }
  }
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    throw new ProtocolError(`invalid ${what}${first ? `: ${first.path || '/'} ${first.message}` : ''}`);
  }
  return value as Static<T>;
}

/** Only `enroll` may carry a large (image) payload; it has its own length bound in the schema. */
function isEnrollCandidate(raw: string | Uint8Array): boolean {
  const head = typeof raw === 'string' ? raw.slice(0, 64) : utf8Decoder.decode(raw.subarray(0, 64));
  const length = typeof raw === 'string' ? raw.length : raw.byteLength;
  return /^\s*\{\s*"type"\s*:\s*"enroll"/.test(head) && length <= LIVE_LIMITS.maxEnrollImageLength + 1024;
}

/** Parses an untrusted client frame (JSON text, bytes or an already parsed value). */
export function parseClientMessage(raw: unknown): ClientMessage {
  return parseWith<typeof ClientMessageSchema>(checks().client, raw, 'client message');
}

/** Parses an untrusted server frame (clients use this). */
export function parseServerMessage(raw: unknown): ServerMessage {
  return parseWith<typeof ServerMessageSchema>(checks().server, raw, 'server message');
}
