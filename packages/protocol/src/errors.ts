import { Type } from '@sinclair/typebox';

/**
 * The single table of error codes that can cross a wire. Each code carries the HTTP status used by
 * REST routes and the WebSocket close code used when the error ends a stream (4000–4999 is the
 * application range of RFC 6455).
 */
export const ERROR_CODES = {
  BAD_REQUEST: { http: 400, ws: 4400, message: 'The request is malformed.' },
  MISSING_IMAGE: { http: 400, ws: 4400, message: 'An image field is missing.' },
  EMPTY_IMAGE: { http: 400, ws: 4400, message: 'The image is empty (zero bytes).' },
  UNSUPPORTED_IMAGE: {
    http: 415,
    ws: 4415,
    message: 'The file is not a supported image (JPEG, PNG or WebP).',
  },
  /** The request body's Content-Type or Content-Encoding is not one the route reads. */
  UNSUPPORTED_MEDIA_TYPE: {
    http: 415,
    ws: 4415,
    message: 'The body has a content type or encoding this endpoint does not accept.',
  },
  /** The HTTP request's header block is over the server's limit (Node's 16 KB). */
  HEADERS_TOO_LARGE: { http: 431, ws: 4431, message: 'The request headers are too large.' },
  /** The HTTP request (its headers or body) did not arrive within the server's time limit. */
  REQUEST_TIMEOUT: { http: 408, ws: 4408, message: 'The request did not arrive in time.' },
  CORRUPT_IMAGE: { http: 422, ws: 4422, message: 'The image could not be decoded.' },
  IMAGE_TOO_LARGE: { http: 413, ws: 4413, message: 'The image exceeds the size limit.' },
  IMAGE_TOO_MANY_PIXELS: {
    http: 413,
    ws: 4413,
    message: 'The image exceeds the pixel-count limit.',
  },
  NO_FACE: { http: 422, ws: 4422, message: 'No face was found in the image.' },
  DECODE_TIMEOUT: { http: 422, ws: 4422, message: 'Decoding the image took too long.' },
  MODEL_LOAD_FAILED: { http: 503, ws: 1011, message: 'The embedding model could not be loaded.' },
  MODEL_CLOSED: { http: 503, ws: 1011, message: 'The embedding model has been closed.' },
  INFERENCE_FAILED: { http: 500, ws: 1011, message: 'Inference failed.' },
  BAD_MESSAGE: { http: 400, ws: 4400, message: 'The message does not follow the protocol.' },
  QUEUE_FULL: { http: 503, ws: 4503, message: 'The server is at capacity; try again shortly.' },
  UNAUTHORIZED: { http: 401, ws: 4401, message: 'The token is missing, invalid or already used.' },
  SESSION_EXPIRED: { http: 410, ws: 4410, message: 'The session has expired.' },
  HELLO_TIMEOUT: { http: 408, ws: 4408, message: 'No hello message arrived in time.' },
  WEBRTC_UNAVAILABLE: {
    http: 501,
    ws: 4501,
    message: 'WebRTC ingest is not available on this server; send JPEG frames.',
  },
  API_KEY_REQUIRED: {
    http: 401,
    ws: 4401,
    message: 'This endpoint needs an API key (Authorization: Bearer …), server to server.',
  },
  INVALID_API_KEY: { http: 401, ws: 4401, message: 'The API key is not valid.' },
  TOKEN_EXPIRED: { http: 401, ws: 4401, message: 'The browser token has expired; create a new session.' },
  ORIGIN_NOT_ALLOWED: { http: 403, ws: 4403, message: 'This origin is not allowed for the session.' },
  RATE_LIMITED: { http: 429, ws: 4429, message: 'Too many requests; slow down and retry later.' },
  TOO_MANY_SESSIONS: {
    http: 429,
    ws: 4429,
    message: "The tenant's limit of concurrent sessions is reached.",
  },
  FRAME_RATE_EXCEEDED: {
    http: 429,
    ws: 4429,
    message: 'Frames arrive faster than the session allows; extra frames are dropped.',
  },
  MESSAGE_RATE_EXCEEDED: {
    http: 429,
    ws: 4429,
    message: 'This socket sent messages faster than its budget allows; it is closed.',
  },
  TOO_MANY_ATTEMPTS: {
    http: 429,
    ws: 4429,
    message: 'Too many failed verification attempts for this session or device.',
  },
  NOT_FOUND: { http: 404, ws: 4404, message: 'Not found.' },
  WEB_NOT_BUILT: {
    http: 503,
    ws: 1011,
    message: 'The web app is not built; run `npm run build:web` (npm start does it).',
  },
  INTERNAL: { http: 500, ws: 1011, message: 'Internal error.' },
} as const satisfies Record<string, { http: number; ws: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code].http;
}

/** The WebSocket close code a fatal error with this code closes the socket with. */
export function wsCloseCodeOf(code: ErrorCode): number {
  return ERROR_CODES[code].ws;
}

/**
 * Close codes outside the table: the normal end of a stream, and those the server's WebSocket
 * library (`ws`) closes with by itself, before any message reaches the protocol.
 */
export const WS_CLOSE_CODES = {
  /** `bye`, or a client leaving: nothing went wrong. */
  NORMAL: 1000,
  /** A text frame that is not valid UTF-8 (`ws`). */
  INVALID_PAYLOAD: 1007,
  /** A message over the server's largest payload (`ws` `maxPayload`). */
  MESSAGE_TOO_BIG: 1009,
} as const;

const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

/**
 * A code of the table, as a schema: a union of its literals, so a parsed `error` message names a
 * code the client can look up (its HTTP status, its close code).
 */
export const ErrorCodeSchema = Type.Union(ERROR_CODE_LIST.map((code) => Type.Literal(code)));
