import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { VerificationError } from '@fv/core';
import { ERROR_CODES, type ErrorCode } from '@fv/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Malformed request bodies are bad input, not server errors. This module names, by identity, every
 * error the body parsers raise on input a client got wrong — Fastify's own content-type parsers,
 * @fastify/multipart 10 and the @fastify/busboy 3 inside it, and Node's HTTP parser — and turns
 * each into a coded 4xx. Anything it does not recognise stays what it was (an internal error is
 * never dressed up as the client's fault).
 */

type Mapped = readonly [ErrorCode, string];

const TRUNCATED = 'The multipart body ends before its closing boundary (a truncated or cut-off upload).';

/** Fastify's content-type parser errors (`FST_ERR_CTP_*`, by `code`) that describe the client's body. */
const FASTIFY_BODY_ERRORS: Readonly<Record<string, Mapped>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    'UNSUPPORTED_MEDIA_TYPE',
    'This endpoint does not read a body of that Content-Type.',
  ],
  FST_ERR_CTP_BODY_TOO_LARGE: ['IMAGE_TOO_LARGE', 'The upload exceeds the size limit.'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['BAD_REQUEST', 'The body does not match its Content-Length.'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['BAD_REQUEST', 'The body is empty but its Content-Type is application/json.'],
  // Also what a `__proto__` or `constructor.prototype` key gets (prototype poisoning is refused).
  FST_ERR_CTP_INVALID_JSON_BODY: [
    'BAD_REQUEST',
    'The body is not valid JSON (or has a __proto__ or constructor.prototype key).',
  ],
};

/** @fastify/multipart's errors (its `@fastify/error` codes) for a malformed or over-limit form. */
const MULTIPART_ERRORS: Readonly<Record<string, Mapped>> = {
  FST_PARTS_LIMIT: ['BAD_REQUEST', 'The multipart body has more parts than this endpoint takes.'],
  FST_FILES_LIMIT: ['BAD_REQUEST', 'The multipart body has more files than this endpoint takes.'],
  // A text field where the route takes only files (its field limit is 0) lands here too.
  FST_FIELDS_LIMIT: ['BAD_REQUEST', 'The multipart body has more non-file fields than this endpoint takes.'],
  FST_REQ_FILE_TOO_LARGE: ['IMAGE_TOO_LARGE', 'The upload exceeds the size limit.'],
  FST_PROTO_VIOLATION: ['BAD_REQUEST', 'A multipart field is named after a reserved property (__proto__ …).'],
  FST_INVALID_MULTIPART_CONTENT_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'The body is not multipart/form-data.'],
  FST_INVALID_JSON_FIELD_ERROR: [
    'BAD_REQUEST',
    'A multipart field sent as application/json is not valid JSON.',
  ],
  FST_MP_PREMATURE_CLOSE: ['BAD_REQUEST', 'The connection closed before the multipart body was complete.'],
};

/**
 * Errors @fastify/busboy throws or emits on malformed input: plain `Error`s (a few `TypeError`s)
 * known by exact class and message (busboy gives them no code). From lib/main.js,
 * lib/types/multipart.js, deps/dicer/lib/Dicer.js and deps/streamsearch/sbmh.js.
 */
const BUSBOY_ERRORS: ReadonlyMap<string, { type: ErrorConstructor | TypeErrorConstructor; mapped: Mapped }> =
  new Map([
    ['Unexpected end of multipart data', { type: Error, mapped: ['BAD_REQUEST', TRUNCATED] }],
    [
      'Part terminated early due to unexpected end of multipart data',
      { type: Error, mapped: ['BAD_REQUEST', TRUNCATED] },
    ],
    [
      'Preamble terminated early due to unexpected end of multipart data',
      { type: Error, mapped: ['BAD_REQUEST', TRUNCATED] },
    ],
    [
      'Multipart: Boundary not found',
      { type: Error, mapped: ['BAD_REQUEST', 'The multipart Content-Type has no boundary parameter.'] },
    ],
    [
      'Boundary required',
      { type: TypeError, mapped: ['BAD_REQUEST', 'The multipart Content-Type has no boundary parameter.'] },
    ],
    // Dicer searches for CRLF + "--" + boundary, at most 256 bytes (RFC 2046 allows 70 characters).
    [
      'The needle cannot have a length bigger than 256.',
      {
        type: Error,
        mapped: ['BAD_REQUEST', 'The multipart boundary is too long (RFC 2046 allows 70 characters).'],
      },
    ],
    [
      'Missing Content-Type-header.',
      { type: TypeError, mapped: ['UNSUPPORTED_MEDIA_TYPE', 'The body has no Content-Type.'] },
    ],
    [
      'Unsupported Content-Type.',
      { type: Error, mapped: ['UNSUPPORTED_MEDIA_TYPE', 'The body is not multipart/form-data.'] },
    ],
  ]);

function mappedError(error: Error): Mapped | null {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && error.name === 'FastifyError') {
    return FASTIFY_BODY_ERRORS[code] ?? MULTIPART_ERRORS[code] ?? null;
  }
  const busboy = BUSBOY_ERRORS.get(error.message);
  if (busboy && Object.getPrototypeOf(error) === busboy.type.prototype && code === undefined) {
    return busboy.mapped;
  }
  return null;
}

/**
 * Whether `error` is the request stream failing because the client went away mid-body: the very
 * error the stream was destroyed with (Node's `aborted`, ECONNRESET), or a part stream closed early
 * because of it while the body was still incomplete.
 */
function uploadCutOff(error: Error, request: FastifyRequest | undefined): boolean {
  if (!request) return false;
  const raw = request.raw;
  if (raw.errored !== null && raw.errored === error) return true;
  return (
    (error as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE' && raw.destroyed && !raw.complete
  );
}

/**
 * The coded refusal for an error a body parser raised on the client's input (or the client cutting
 * its own upload off), or null when the error is anything else. `hint` (what the route takes) is
 * added to the message.
 */
export function bodyError(
  error: unknown,
  { hint, request }: { hint?: string; request?: FastifyRequest } = {},
): VerificationError | null {
  if (!(error instanceof Error) || error instanceof VerificationError) return null;
  const mapped: Mapped | null = uploadCutOff(error, request)
    ? ['BAD_REQUEST', 'The connection closed before the body was complete (the upload was cut off).']
    : mappedError(error);
  if (!mapped) return null;
  const [code, message] = mapped;
  return new VerificationError(code, hint ? `${message} ${hint}` : message, { cause: error });
}

/** `multipart/form-data; boundary=…` → the boundary ('' when empty), null when absent (busboy's reading). */
function boundaryOf(contentType: string): string | null {
  const match = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^;]*))/i.exec(contentType);
  if (!match) return null;
  return (match[1] ?? match[2] ?? '').trim();
}

/**
 * Checks a request's body framing before anything reads the body (a route's `preParsing` hook):
 * a Content-Encoding other than identity, or a body whose media type is not in `accepts`, is 415
 * `UNSUPPORTED_MEDIA_TYPE`; a multipart Content-Type with an empty boundary is 400 (busboy would
 * split the body at every CRLF followed by "--"). A body-less request passes (the route says what
 * is missing).
 */
export function checkBodyFraming(request: FastifyRequest, accepts: readonly string[]): void {
  const encoding = request.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    throw new VerificationError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported; send the body uncompressed.`,
    );
  }
  const length = request.headers['content-length'];
  const hasBody =
    request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (!hasBody) return;
  const contentType = request.headers['content-type'] ?? '';
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (!accepts.includes(mediaType)) {
    throw new VerificationError(
      'UNSUPPORTED_MEDIA_TYPE',
      `${mediaType ? `Content-Type ${JSON.stringify(mediaType.slice(0, 60))}` : 'A body without a Content-Type'} is not accepted here; send ${accepts.join(' or ')}.`,
    );
  }
  if (mediaType === 'multipart/form-data' && boundaryOf(contentType) === '') {
    throw new VerificationError('BAD_REQUEST', 'The multipart Content-Type has an empty boundary.');
  }
}

/** Node's HTTP parser errors (`clientError`) → the response: status, code and message. */
function clientErrorAnswer(error: NodeJS.ErrnoException): { code: ErrorCode; message: string } {
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return { code: 'HEADERS_TOO_LARGE', message: ERROR_CODES.HEADERS_TOO_LARGE.message };
  }
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { code: 'REQUEST_TIMEOUT', message: ERROR_CODES.REQUEST_TIMEOUT.message };
  }
  // HPE_INVALID_CONTENT_LENGTH, HPE_UNEXPECTED_CONTENT_LENGTH, HPE_INVALID_CHUNK_SIZE,
  // HPE_INVALID_EOF_STATE (a body cut short by the client), HPE_INVALID_HEADER_TOKEN, …
  const detail = typeof error.code === 'string' && /^HPE_[A-Z_]+$/.test(error.code) ? ` (${error.code})` : '';
  return { code: 'BAD_REQUEST', message: `The request is not valid HTTP/1.1${detail}.` };
}

/**
 * Answers requests Node's HTTP parser refuses (bad Content-Length or chunking, a body cut short,
 * oversized headers, a timeout) with the protocol's error body instead of Fastify's default. It
 * runs before Fastify's own `clientError` listener, which skips a socket that is already destroyed.
 */
export function installClientErrorHandler(app: FastifyInstance): void {
  app.server.prependListener('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const { code, message } = clientErrorAnswer(error);
    app.log.debug({ err: error }, 'client error');
    // As Node does: no raw response on top of one already under way.
    const underway = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage
      ?.headersSent;
    if (socket.writable && !underway) {
      const status = ERROR_CODES[code].http;
      const body = JSON.stringify({ error: { code, message } });
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? code}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  });
}
