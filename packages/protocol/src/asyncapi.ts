import type { TSchema } from '@sinclair/typebox';
import { ERROR_CODES, WS_CLOSE_CODES } from './errors.ts';
import { EMBED_SOURCE, EMBED_VERSION, EmbedMessageSchema, EmbedStopSchema, HOST_SOURCE } from './embed.ts';
import { ClientMessageSchema, LIVE_LIMITS, ServerMessageSchema } from './live.ts';
import { OPS_LIMITS, OpsClientMessageSchema, OpsServerMessageSchema } from './ops.ts';
import { PROTOCOL_VERSION } from './version.ts';

/**
 * The WebSocket protocol (and the embed page's `postMessage` events) as an AsyncAPI 3.0 document,
 * built from the very TypeBox schemas the parsers check messages against: a message added to a
 * union is documented without anyone remembering to. What the schemas cannot say (a line per
 * message) is in {@link MESSAGE_SUMMARIES} and {@link EMBED_MESSAGE_SUMMARIES}; the protocol's
 * tests fail for a message without one.
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
  liveness_retry:
    'After a failed liveness sequence: start another (while the session’s `retriesLeft` allows; each failed one counts as a failed attempt).',
  // Live stream, server → client
  welcome:
    'The hello was accepted: the session, ICE servers, limits, the rate and frame size the server analyses (send no more), whether it has a reference, the similarity at the match threshold, its liveness, and a fresh single-use token for resuming after a drop.',
  answer: 'WebRTC SDP answer to the client’s `offer`.',
  score:
    'One analysed frame: face box, quality flags, distance to the reference, smoothed distance and verdict.',
  state:
    'The stream changed state (awaiting enrolment or media, streaming, degraded, closed); with the similarity at the match threshold, as `welcome` has it.',
  enrolled:
    'The session took a reference: the answer to a successful `enroll`, naming its source. A failed one is answered by an `error`.',
  challenge:
    'Active liveness: do `action` now (`index` of `count`). Judged only from frames the server analyses in its window, against the neutral face just before it; `deadline` is on the server clock, `windowMs` for a countdown.',
  liveness:
    'Liveness changed: the sequence drawn, each challenge’s status and failure reason, attempts and retries left, and the session’s decision (`verified` only when the face matched and liveness passed).',
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

/**
 * One line per embed page event (its own names: `score` and `error` there are not the stream's).
 */
export const EMBED_MESSAGE_SUMMARIES: Readonly<Record<string, string>> = {
  ready: 'The embed page has loaded; sent once.',
  started: 'The camera streams to the server, over WebRTC or as JPEG frames (`transport`).',
  score:
    'A live score: the smoothed distance, the similarity and the verdict; at most 2 per second, the newest value always sent.',
  verdict: 'The verdict changed.',
  challenge: 'A liveness challenge was asked: the action, its place in the sequence, and its window.',
  liveness: 'Liveness changed (a sequence drawn, a challenge passed or failed), with the decision so far.',
  error: 'An error: a server error code or a browser one (`CAMERA_DENIED`, …). A fatal one ends the session.',
  finished:
    'The session ended: the last verdict and decision; `reason` is `stopped` (by the user or the host page) or the code of the fatal error.',
  stop: 'From the host page: stop the check and release the camera. The embed page answers with `finished`.',
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

interface ChannelSpec {
  /** Key of the channel in the document. */
  id: string;
  address: string;
  title: string;
  description: string;
  parameters?: Record<string, { description: string }>;
  /** Messages the application receives (client → server on a socket). */
  client: TSchema;
  /** Messages the application sends (server → client on a socket). */
  server: TSchema;
  /** Operation titles' directions. @defaultValue `client → server`, `server → client` */
  directions?: { receive: string; send: string };
  /** @defaultValue {@link MESSAGE_SUMMARIES} */
  summaries?: Readonly<Record<string, string>>;
  /** Messages that are no JSON (the binary JPEG frames of the fallback path). */
  binaryClientMessages?: Record<string, JsonObject>;
  security?: JsonObject[];
  /** @defaultValue the WebSocket binding */
  bindings?: JsonObject | null;
}

const closeCodes = Object.entries(ERROR_CODES)
  .map(([code, { ws, message }]) => `| \`${code}\` | ${ws} | ${message} |`)
  .join('\n');

const otherCloseCodes = [
  `| ${WS_CLOSE_CODES.NORMAL} | the stream ended normally (\`bye\`) |`,
  `| ${WS_CLOSE_CODES.INVALID_PAYLOAD} | a text message that is not valid UTF-8 |`,
  `| ${WS_CLOSE_CODES.MESSAGE_TOO_BIG} | a message over the largest payload |`,
].join('\n');

const CHANNELS: ChannelSpec[] = [
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
      '',
      'Other close codes, with no error message before them:',
      '',
      '| close code | meaning |',
      '| --- | --- |',
      otherCloseCodes,
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
  {
    id: 'embed',
    address: '/embed',
    title: 'Embed page events (postMessage)',
    description: [
      'Not a socket: the embed page (`/embed?token=…`, the `embedPath` of `POST /v1/sessions`) in a',
      'tenant’s iframe posts these events to its parent window with `window.parent.postMessage`, once',
      'for each of the session’s allowed origins and never to `*`. Every event has',
      `\`{ source: '${EMBED_SOURCE}', version: ${EMBED_VERSION}, type, sessionId }\`. They are UX hints: the`,
      'tenant’s backend reads the result with `GET /v1/sessions/{id}`. The host page may post',
      `\`{ source: '${HOST_SOURCE}', type: 'stop' }\` to the frame; the page accepts it from an allowed origin only.`,
      'Host pages parse events with the protocol package’s `parseEmbedMessage`.',
    ].join('\n'),
    client: EmbedStopSchema,
    server: EmbedMessageSchema,
    directions: { receive: 'host page → embed page', send: 'embed page → host page' },
    summaries: EMBED_MESSAGE_SUMMARIES,
    bindings: null,
  },
];

export interface AsyncApiOptions {
  /** The server to list, e.g. `{ host: 'verify.example', protocol: 'wss' }`; none: addresses only. */
  server?: { host: string; protocol: 'ws' | 'wss' };
}

/**
 * The AsyncAPI 3.0 document of both sockets (`/v1/sessions/{id}/stream`, `/v1/ops`), written from
 * the point of view of the server: it receives the client unions and sends the server unions; and
 * of the embed page's `postMessage` events, from the point of view of the embed page.
 */
export function asyncApiDocument(options: AsyncApiOptions = {}): JsonObject {
  const channels: JsonObject = {};
  const operations: JsonObject = {};
  for (const spec of CHANNELS) {
    const summaries = spec.summaries ?? MESSAGE_SUMMARIES;
    const messages: Record<string, JsonObject> = {};
    const refs = { client: [] as JsonObject[], server: [] as JsonObject[] };
    for (const direction of ['client', 'server'] as const) {
      const entries: [string, JsonObject][] = unionMembers(spec[direction]).map((member) => {
        const type = messageTypeOf(member);
        return [
          type,
          {
            name: type,
            title: type,
            ...(summaries[type] !== undefined && { summary: summaries[type] }),
            contentType: 'application/json',
            payload: plain(member),
          },
        ];
      });
      if (direction === 'client') entries.push(...Object.entries(spec.binaryClientMessages ?? {}));
      for (const [type, message] of entries) {
        // A type sent both ways with the same schema (`ice`) is one message; another schema under a
        // name already taken gets the direction in its key.
        const taken = messages[type];
        const key =
          taken === undefined || JSON.stringify(taken) === JSON.stringify(message)
            ? type
            : `${type}_${direction}`;
        messages[key] = message;
        refs[direction].push({ $ref: `#/channels/${spec.id}/messages/${key}` });
      }
    }
    channels[spec.id] = {
      address: spec.address,
      title: spec.title,
      description: spec.description,
      ...(spec.parameters && { parameters: spec.parameters }),
      messages,
      ...(spec.bindings !== null && {
        bindings: spec.bindings ?? { ws: { method: 'GET', bindingVersion: '0.1.0' } },
      }),
    };
    const channel = { $ref: `#/channels/${spec.id}` };
    const security = spec.security ? { security: spec.security } : {};
    operations[`${spec.id}.receive`] = {
      action: 'receive',
      channel,
      title: `${spec.title}: ${spec.directions?.receive ?? 'client → server'}`,
      messages: refs.client,
      ...security,
    };
    operations[`${spec.id}.send`] = {
      action: 'send',
      channel,
      title: `${spec.title}: ${spec.directions?.send ?? 'server → client'}`,
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
        'incompatible change to a message. Channel `embed` is the embed page’s `postMessage` events to',
        'its host page. The HTTP API (and the webhooks) are described by `/openapi.json` (UI at `/docs`).',
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
