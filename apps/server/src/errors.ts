import { ERROR_CODES, ProtocolError, isErrorCode, type ErrorCode } from '@fv/protocol';
import { VerificationError } from '@fv/core';
import type { FastifyBaseLogger, FastifyError, FastifyInstance } from 'fastify';
import { bodyError, installClientErrorHandler } from './body-errors.ts';

function body(code: ErrorCode, message: string): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message } };
}

/**
 * Maps every failure to `{error: {code, message}}` with the code's HTTP status; never leaks stacks.
 * A malformed body (its framing, content type, multipart structure, JSON) is a coded 4xx, also
 * when Node's HTTP parser refuses the request before Fastify sees it (see body-errors.ts).
 */
export function installErrorHandler(app: FastifyInstance): void {
  installClientErrorHandler(app);
  app.setErrorHandler((error: FastifyError | VerificationError | Error, request, reply) => {
    if (error instanceof VerificationError) {
      return reply.status(error.httpStatus).send(body(error.code, error.message));
    }
    const refused = bodyError(error, { request });
    if (refused) return reply.status(refused.httpStatus).send(body(refused.code, refused.message));
    const fastifyError = error as FastifyError;
    if (
      fastifyError.validation ||
      (fastifyError.statusCode !== undefined &&
        fastifyError.statusCode >= 400 &&
        fastifyError.statusCode < 500)
    ) {
      return reply.status(fastifyError.statusCode ?? 400).send(body('BAD_REQUEST', error.message));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send(body('INTERNAL', ERROR_CODES.INTERNAL.message));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(body('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`));
  });
}

/** A failure as a WebSocket tells it: the `error` message's code and text, and the close code. */
export interface WsError {
  readonly code: ErrorCode;
  readonly message: string;
  /** The close code when the failure ends the socket (`ERROR_CODES[code].ws`). */
  readonly close: number;
}

/**
 * The WebSocket counterpart of {@link installErrorHandler} (socket errors never reach Fastify's):
 * a malformed message is BAD_MESSAGE, a coded error keeps its code, anything else is INTERNAL,
 * logged to `log` as `what` and never described to the client.
 */
export function wsErrorOf(error: unknown, log: FastifyBaseLogger, what: string): WsError {
  let code: ErrorCode;
  if (error instanceof ProtocolError) code = 'BAD_MESSAGE';
  else if (error instanceof VerificationError) code = error.code;
  else {
    const own = (error as { code?: unknown } | null)?.code;
    code = isErrorCode(own) ? own : 'INTERNAL';
  }
  if (code === 'INTERNAL') log.error({ err: error }, what);
  const message = code === 'INTERNAL' ? ERROR_CODES.INTERNAL.message : (error as Error).message;
  return { code, message, close: ERROR_CODES[code].ws };
}
