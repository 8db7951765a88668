import { ERROR_CODES, type ErrorCode } from '@fv/protocol';
import { VerificationError } from '@fv/core';
import type { FastifyError, FastifyInstance } from 'fastify';

function body(code: ErrorCode, message: string): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message } };
}

/** Maps every failure to `{error: {code, message}}` with the code's HTTP status; never leaks stacks. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | VerificationError | Error, request, reply) => {
    if (error instanceof VerificationError) {
      return reply.status(error.httpStatus).send(body(error.code, error.message));
    }
    const fastifyError = error as FastifyError;
    if (
      fastifyError.code === 'FST_REQ_FILE_TOO_LARGE' ||
      fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
    ) {
      return reply.status(413).send(body('IMAGE_TOO_LARGE', 'The upload exceeds the size limit.'));
    }
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
