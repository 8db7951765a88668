import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
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

const IceCandidateSchema = Type.Object(
  {
    candidate: Type.String({ maxLength: 2048 }),
    sdpMid: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    sdpMLineIndex: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 64 }), Type.Null()])),
  },
  { additionalProperties: false },
);

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
export const OfferSchema = Type.Object(
  { type: Type.Literal('offer'), sdp: Type.String({ minLength: 1, maxLength: LIVE_LIMITS.maxSdpLength }) },
  strict,
);
export const IceSchema = Type.Object(
  { type: Type.Literal('ice'), candidate: Type.Union([IceCandidateSchema, Type.Null()]) },
  strict,
);
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
export type LiveVerdict = Static<typeof VerdictSchema>;

export const QualityFlagSchema = Type.Union([
  Type.Literal('too_small'),
  Type.Literal('too_dark'),
  Type.Literal('too_bright'),
  Type.Literal('blurry'),
  Type.Literal('off_centre'),
]);

export const WelcomeSchema = Type.Object(
  {
    type: Type.Literal('welcome'),
    protocol: Type.Integer(),
    sessionId: Type.String(),
    iceServers: Type.Array(
      Type.Object({
        urls: Type.Union([Type.String(), Type.Array(Type.String())]),
        username: Type.Optional(Type.String()),
        credential: Type.Optional(Type.String()),
      }),
    ),
    limits: Type.Object({
      maxFps: Type.Number(),
      maxMessageBytes: Type.Integer(),
      maxFrameBytes: Type.Integer(),
      /** ISO 8601. */
      expiresAt: Type.String({ minLength: 1 }),
    }),
    enrolled: Type.Boolean(),
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
    reason: Type.Optional(Type.String()),
  },
  strict,
);
export const ErrorMessageSchema = Type.Object(
  {
    type: Type.Literal('error'),
    code: Type.String(),
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
  ErrorMessageSchema,
]);
export type ServerMessage = Static<typeof ServerMessageSchema>;
export type ScoreMessage = Static<typeof ScoreSchema>;
export type StateMessage = Static<typeof StateSchema>;

/** A frame that failed validation; `code` is always `BAD_MESSAGE`. */
export class ProtocolError extends Error {
  readonly code = 'BAD_MESSAGE' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

const clientCheck = TypeCompiler.Compile(ClientMessageSchema);
const serverCheck = TypeCompiler.Compile(ServerMessageSchema);

function parseWith<T extends TSchema>(
  check: ReturnType<typeof TypeCompiler.Compile<T>>,
  raw: unknown,
  what: string,
): Static<T> {
  let value: unknown = raw;
  if (typeof raw === 'string' || raw instanceof Uint8Array) {
    const length = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
    if (length > LIVE_LIMITS.maxMessageBytes && !isEnrollCandidate(raw)) {
      throw new ProtocolError(`${what} exceeds ${LIVE_LIMITS.maxMessageBytes} bytes`);
    }
    try {
      value = JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8'));
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
  const head = typeof raw === 'string' ? raw.slice(0, 64) : Buffer.from(raw.subarray(0, 64)).toString('utf8');
  const length = typeof raw === 'string' ? raw.length : raw.byteLength;
  return /^\s*\{\s*"type"\s*:\s*"enroll"/.test(head) && length <= LIVE_LIMITS.maxEnrollImageLength + 1024;
}

/** Parses an untrusted client frame (JSON text, bytes or an already parsed value). */
export function parseClientMessage(raw: unknown): ClientMessage {
  return parseWith(clientCheck, raw, 'client message');
}

/** Parses an untrusted server frame (clients use this). */
export function parseServerMessage(raw: unknown): ServerMessage {
  return parseWith(serverCheck, raw, 'server message');
}
