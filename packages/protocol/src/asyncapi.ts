import type { TSchema } from '@sinclair/typebox';
import { ERROR_CODES } from './errors.ts';
import { ClientMessageSchema, LIVE_LIMITS, ServerMessageSchema } from './live.ts';
import { OPS_LIMITS, OpsClientMessageSchema, OpsServerMessageSchema } from './ops.ts';
import { PROTOCOL_VERSION } from './version.ts';

/**
 * The WebSocket protocol as an AsyncAPI 3.0 document, built from the very TypeBox schemas the
 * parsers check messages against: a message added to a union is documented without anyone
 * remembering to. What the schemas cannot say (a line per message) is in {@link MESSAGE_SUMMARIES};
 * the protocol's tests fail for a message without one.
 */

type JsonObject = { [key: string]: unknown };

/** One line per message `type`, shown next to its schema. */
export const MESSAGE_SUMMARIES: Readonly<Record<string, string>> = {
  // Live stream, client → server
  hello:
    'First message on a new socket: the single-use browser token (from POST /v1/sessions or the last welcome) and the protocol version.',
  offer: 'WebRTC SDP offer; the server answers with `answer` and trickles its ICE candidates.',
  ice: 'A trickled ICE candidate (`null`: no more candidates). Sent both ways.',
  enroll:
    'Enrols the reference face: a base64 image (`source: "image"`) or the next live frame with one good face (`source: "frame"`).',
  config: 'Asks for an analysis rate, in frames per second (the server may run lower under load).',
  bye: 'Ends the session; the server sends its last `state` (`closed`) and closes the socket.',
  // Live stream, server → client
  welcome:
    'The hello was accepted: the session, ICE servers, limits, and a fresh single-use token for resuming after a drop.',
  answer: 'WebRTC SDP answer to the client’s `offer`.',
  score:
    'One analysed frame: face box, quality flags, distance to the reference, smoothed distance and verdict.',
  state: 'The stream changed state (awaiting enrolment or media, streaming, degraded, closed).',
  error:
    'A coded error (see the error codes in the channel description). After a fatal one the server closes the socket with the code’s close code.',
  // Operator feed
  ops_snapshot:
    'Every second: system figures (rates, queue depth, batch sizes, latency) and the sessions, newest first.',
  ops_session_detail: 'The followed session’s whole kept timeline; replaces any timeline the client holds.',
  ops_session_points: 'The followed session’s points since the last detail or points message.',
  ops_subscribe: 'Follow one session’s timeline (replaces any earlier subscription).',
  ops_unsubscribe: 'Stop following a session.',
};

/** The JSON form of a schema: TypeBox's symbol keys (Kind, Optional) are not part of it. */
const plain = (schema: TSchema): JsonObject => JSON.parse(JSON.stringify(schema)) as JsonObject;

/**
 * A message's `type` literal: from its `type` property, or shared by every member of a union of
 * variants (`enroll`). A union member without one could not be told apart on the wire.
 */
export function messageTypeOf(schema: TSchema): string {
  const literal = (schema as { properties?: { type?: { const?: unknown } } }).properties?.type?.const;
  if (typeof literal === 'string') return literal;
  const variants = (schema as { anyOf?: TSchema[] }).anyOf;
  if (variants && variants.length > 0) {
    const types = new Set(variants.map(messageTypeOf));
    if (types.size === 1) return [...types][0]!;
  }
  throw new Error(`a protocol message schema has no single "type" literal: ${JSON.stringify(schema)}`);
}

/** The members of a message union (each one message type). */
export const unionMembers = (union: TSchema): TSchema[] => (union as { anyOf?: TSchema[] }).anyOf ?? [union];

interface SocketSpec {
  /** Key of the channel in the document. */
  id: string;
  address: string;
  title: string;
  description: string;
  parameters?: Record<string, { description: string }>;
  /** Client → server messages (the server receives them). */
  client: TSchema;
  /** Server → client messages. */
  server: TSchema;
  /** Messages that are no JSON (the binary JPEG frames of the fallback path). */
  binaryClientMessages?: Record<string, JsonObject>;
  security?: JsonObject[];
}

const closeCodes = Object.entries(ERROR_CODES)
  .map(([code, { ws, message }]) => `| \`${code}\` | ${ws} | ${message} |`)
  .join('\n');

const SOCKETS: SocketSpec[] = [
  {
    id: 'stream',
    address: '/v1/sessions/{sessionId}/stream',
    title: 'Live verification stream',
    description: [
      'One live session’s socket. A tenant creates the session (`POST /v1/sessions`, API key) and hands the',
      'browser its single-use token; the browser connects and sends `hello` first, with that token. Then',
      'it enrols a reference (unless the session has one), and sends frames: over WebRTC (`offer` →',
      '`answer`, ICE trickled both ways) or, as a fallback, as binary WebSocket messages holding one JPEG',
      'each. The server sends a `score` per analysed frame and `state` on every change.',
      '',
      `JSON text messages are at most ${LIVE_LIMITS.maxMessageBytes} bytes, except \`enroll\` with an image`,
      `(base64, at most ${LIVE_LIMITS.maxEnrollImageLength} characters). A binary frame is at most`,
      `${LIVE_LIMITS.maxFrameBytes} bytes; analysis runs at ${LIVE_LIMITS.minFps}–${LIVE_LIMITS.maxFps} frames per second.`,
      'A browser page’s `Origin` must be this service’s own or one the session allows.',
      '',
      'Error codes and the close code a fatal one closes the socket with:',
      '',
      '| code | close code | meaning |',
      '| --- | --- | --- |',
      closeCodes,
    ].join('\n'),
    parameters: { sessionId: { description: 'The session id `POST /v1/sessions` returned.' } },
    client: ClientMessageSchema,
    server: ServerMessageSchema,
    binaryClientMessages: {
      jpeg_frame: {
        name: 'jpeg_frame',
        title: 'JPEG frame (binary)',
        summary:
          'The fallback path for clients without WebRTC: one binary WebSocket message per camera frame, a JPEG image.',
        contentType: 'image/jpeg',
        payload: { type: 'string', format: 'binary', maxLength: LIVE_LIMITS.maxFrameBytes },
      },
    },
  },
  {
    id: 'ops',
    address: '/v1/ops',
    title: 'Operator feed',
    description: [
      'The operator dashboard’s live feed: an `ops_snapshot` every',
      `${OPS_LIMITS.intervalMs} ms (at most ${OPS_LIMITS.maxSessions} sessions listed, the rest counted), and the`,
      'timeline of one followed session. Client messages are at most',
      `${OPS_LIMITS.maxClientMessageBytes} bytes. Needs an operator sign-in (\`POST /v1/ops/login\`), unless`,
      'the server runs in open mode without an operator credential.',
    ].join('\n'),
    client: OpsClientMessageSchema,
    server: OpsServerMessageSchema,
    security: [{ $ref: '#/components/securitySchemes/operatorSession' }],
  },
];

export interface AsyncApiOptions {
  /** The server to list, e.g. `{ host: 'verify.example', protocol: 'wss' }`; none: addresses only. */
  server?: { host: string; protocol: 'ws' | 'wss' };
}

/**
 * The AsyncAPI 3.0 document of both sockets (`/v1/sessions/{id}/stream`, `/v1/ops`), written from
 * the point of view of the server: it receives the client unions and sends the server unions.
 */
export function asyncApiDocument(options: AsyncApiOptions = {}): JsonObject {
  const channels: JsonObject = {};
  const operations: JsonObject = {};
  for (const socket of SOCKETS) {
    const messages: Record<string, JsonObject> = {};
    const refs = { client: [] as JsonObject[], server: [] as JsonObject[] };
    for (const direction of ['client', 'server'] as const) {
      const entries: [string, JsonObject][] = unionMembers(socket[direction]).map((member) => {
        const type = messageTypeOf(member);
        return [
          type,
          {
            name: type,
            title: type,
            ...(MESSAGE_SUMMARIES[type] !== undefined && { summary: MESSAGE_SUMMARIES[type] }),
            contentType: 'application/json',
            payload: plain(member),
          },
        ];
      });
      if (direction === 'client') entries.push(...Object.entries(socket.binaryClientMessages ?? {}));
      for (const [type, message] of entries) {
        // A type sent both ways with the same schema (`ice`) is one message; another schema under a
        // name already taken gets the direction in its key.
        const taken = messages[type];
        const key =
          taken === undefined || JSON.stringify(taken) === JSON.stringify(message)
            ? type
            : `${type}_${direction}`;
        messages[key] = message;
        refs[direction].push({ $ref: `#/channels/${socket.id}/messages/${key}` });
      }
    }
    channels[socket.id] = {
      address: socket.address,
      title: socket.title,
      description: socket.description,
      ...(socket.parameters && { parameters: socket.parameters }),
      messages,
      bindings: { ws: { method: 'GET', bindingVersion: '0.1.0' } },
    };
    const channel = { $ref: `#/channels/${socket.id}` };
    const security = socket.security ? { security: socket.security } : {};
    operations[`${socket.id}.receive`] = {
      action: 'receive',
      channel,
      title: `${socket.title}: client → server`,
      messages: refs.client,
      ...security,
    };
    operations[`${socket.id}.send`] = {
      action: 'send',
      channel,
      title: `${socket.title}: server → client`,
      messages: refs.server,
      ...security,
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Face verification: WebSocket protocol',
      version: String(PROTOCOL_VERSION),
      description: [
        'The live sockets of the face verification service, generated from the protocol package’s',
        'schemas. `info.version` is the protocol version `hello` must name; it changes with any',
        'incompatible change to a message. The HTTP API is described by `/openapi.json` (UI at `/docs`).',
      ].join('\n'),
    },
    defaultContentType: 'application/json',
    ...(options.server && {
      servers: {
        this: {
          host: options.server.host,
          protocol: options.server.protocol,
          description: 'This server.',
        },
      },
    }),
    channels,
    operations,
    components: {
      securitySchemes: {
        operatorSession: {
          type: 'httpApiKey',
          name: 'fv_ops',
          in: 'cookie',
          description: 'The operator session cookie `POST /v1/ops/login` sets.',
        },
      },
    },
  };
}
