import { Type, type Static } from '@sinclair/typebox';
import {
  IceCandidateSchema,
  IceServerSchema,
  LIVE_LIMITS,
  ProtocolError,
  checker,
  parseWith,
  type Checker,
} from './live.ts';

/**
 * The IPC between a gateway and its WebRTC host process (`apps/server` `live/webrtc-isolation.ts`
 * and `live/webrtc-host.ts`), over Node's `serialization: 'advanced'` channel: values, not JSON
 * text, so a frame's pixels travel as a `Uint8Array`. The host runs every peer connection, and
 * with it native code that reads untrusted SDP: the gateway trusts none of its messages.
 */
export const WEBRTC_HOST_LIMITS = {
  /** Largest frame side, in pixels. */
  maxFrameSide: 8192,
  /** Peer ids and request ids stay safe integers. */
  maxId: Number.MAX_SAFE_INTEGER,
  /** Longest answer SDP, in characters (an answer can outgrow its offer). */
  maxAnswerSdpLength: 1024 * 1024,
  /** Longest `ended` reason or `failed` message, in characters (the host cuts longer ones). */
  maxReasonLength: 4096,
} as const;

const strict = { additionalProperties: false } as const;
/** One peer connection (one stream) in the host. */
const PeerIdSchema = Type.Integer({ minimum: 1, maximum: WEBRTC_HOST_LIMITS.maxId });
/** One request awaiting its `done` or `failed`. */
const RequestIdSchema = Type.Integer({ minimum: 1, maximum: WEBRTC_HOST_LIMITS.maxId });
const ReasonSchema = Type.String({ maxLength: WEBRTC_HOST_LIMITS.maxReasonLength });
const FrameSideSchema = Type.Integer({ minimum: 1, maximum: WEBRTC_HOST_LIMITS.maxFrameSide });

// Gateway → host
export const HostOpenSchema = Type.Object(
  { type: Type.Literal('open'), id: PeerIdSchema, iceServers: Type.Array(IceServerSchema) },
  strict,
);
export const HostOfferSchema = Type.Object(
  {
    type: Type.Literal('offer'),
    id: PeerIdSchema,
    rid: RequestIdSchema,
    sdp: Type.String({ maxLength: LIVE_LIMITS.maxSdpLength }),
  },
  strict,
);
export const HostIceSchema = Type.Object(
  {
    type: Type.Literal('ice'),
    id: PeerIdSchema,
    rid: RequestIdSchema,
    candidate: Type.Union([IceCandidateSchema, Type.Null()]),
  },
  strict,
);
/** The peer's next frame is wanted once it is captured at or after `notBefore` (epoch ms). */
export const HostArmSchema = Type.Object(
  { type: Type.Literal('arm'), id: PeerIdSchema, notBefore: Type.Number() },
  strict,
);
export const HostCloseSchema = Type.Object({ type: Type.Literal('close'), id: PeerIdSchema }, strict);
/** What the gateway asks the WebRTC host process. */
export const HostRequestSchema = Type.Union([
  HostOpenSchema,
  HostOfferSchema,
  HostIceSchema,
  HostArmSchema,
  HostCloseSchema,
]);
export type HostRequest = Static<typeof HostRequestSchema>;

// Host → gateway
export const HostReadySchema = Type.Object({ type: Type.Literal('ready') }, strict);
/** A local ICE candidate of the peer, for the client (`null`: gathering ended). */
export const HostCandidateSchema = Type.Object(
  {
    type: Type.Literal('candidate'),
    id: PeerIdSchema,
    candidate: Type.Union([IceCandidateSchema, Type.Null()]),
  },
  strict,
);
/** A wanted frame's luma plane: `width × height` bytes. */
export const HostFrameSchema = Type.Object(
  {
    type: Type.Literal('frame'),
    id: PeerIdSchema,
    width: FrameSideSchema,
    height: FrameSideSchema,
    data: Type.Uint8Array({
      minByteLength: 1,
      maxByteLength: WEBRTC_HOST_LIMITS.maxFrameSide * WEBRTC_HOST_LIMITS.maxFrameSide,
    }),
    /** When the host received the frame, epoch ms. */
    capturedAt: Type.Number(),
  },
  strict,
);
export const HostEndedSchema = Type.Object(
  { type: Type.Literal('ended'), id: PeerIdSchema, reason: ReasonSchema },
  strict,
);
/** A request succeeded: the answer SDP of an `offer` (empty for `ice`). */
export const HostDoneSchema = Type.Object(
  {
    type: Type.Literal('done'),
    rid: RequestIdSchema,
    sdp: Type.String({ maxLength: WEBRTC_HOST_LIMITS.maxAnswerSdpLength }),
  },
  strict,
);
export const HostFailedSchema = Type.Object(
  { type: Type.Literal('failed'), rid: RequestIdSchema, message: ReasonSchema },
  strict,
);
/** What the WebRTC host process tells the gateway. */
export const HostEventSchema = Type.Union([
  HostReadySchema,
  HostCandidateSchema,
  HostFrameSchema,
  HostEndedSchema,
  HostDoneSchema,
  HostFailedSchema,
]);
export type HostEvent = Static<typeof HostEventSchema>;

let checkers: { request: Checker; event: Checker } | null = null;
const checks = (): { request: Checker; event: Checker } =>
  (checkers ??= { request: checker(HostRequestSchema), event: checker(HostEventSchema) });
// IPC messages are values: text and bytes are not messages here, whatever their size.
const refuseSerialized = (raw: unknown, what: string): void => {
  if (typeof raw === 'string' || raw instanceof Uint8Array)
    throw new ProtocolError(`${what} is not an object`);
};
const never = (): boolean => false;

/** Parses a message the host process received; throws `ProtocolError` (`BAD_MESSAGE`). */
export function parseHostRequest(raw: unknown): HostRequest {
  refuseSerialized(raw, 'WebRTC host request');
  return parseWith<typeof HostRequestSchema>(checks().request, raw, 'WebRTC host request', 0, never);
}

/**
 * Parses a message from the host process; throws `ProtocolError` (`BAD_MESSAGE`). One compiled
 * check per message, frames included, and one comparison more for a frame's size.
 */
export function parseHostEvent(raw: unknown): HostEvent {
  refuseSerialized(raw, 'WebRTC host event');
  const event = parseWith<typeof HostEventSchema>(checks().event, raw, 'WebRTC host event', 0, never);
  if (event.type === 'frame' && event.data.byteLength !== event.width * event.height) {
    throw new ProtocolError(
      `invalid WebRTC host event: a ${event.width}×${event.height} frame carries ${event.data.byteLength} bytes`,
    );
  }
  return event;
}
