import {
  VerifyResultSchema,
  ErrorBodySchema,
  VerifyFormSchema,
  VerifyJsonBodySchema,
  type VerifyJsonBody,
} from '@fv/protocol';
import { VerificationError, type FaceVerifier } from '@fv/core';
import type { RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessControl } from '../access.ts';
import { bodyError, checkBodyFraming } from '../body-errors.ts';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(field: 'a' | 'b', value: string, maxBytes: number): Buffer {
  const clean = value.replace(/^data:[^,]*,/, '').replace(/\s+/g, '');
  if (clean.length % 4 !== 0 || !BASE64.test(clean)) {
    throw new VerificationError('BAD_REQUEST', `Field ${field} is not valid base64.`);
  }
  if ((clean.length / 4) * 3 > maxBytes + 3)
    throw VerificationError.imageTooLarge(Math.floor((clean.length / 4) * 3), maxBytes);
  return Buffer.from(clean, 'base64');
}

/** What the route reads: multipart files, or JSON (a body of any other type or encoding is 415). */
const ACCEPTS = ['multipart/form-data', 'application/json'] as const;

async function readMultipart(request: FastifyRequest, maxBytes: number): Promise<{ a: Buffer; b: Buffer }> {
  try {
    return await readParts(request, maxBytes);
  } catch (error) {
    // A truncated or malformed form (busboy's errors, the part limits) is the client's: 4xx.
    throw bodyError(error, { hint: 'Send multipart files a and b.', request }) ?? error;
  }
}

async function readParts(request: FastifyRequest, maxBytes: number): Promise<{ a: Buffer; b: Buffer }> {
  const files: Partial<Record<'a' | 'b', Buffer>> = {};
  for await (const part of request.parts({ limits: { fileSize: maxBytes, files: 2, fields: 0, parts: 2 } })) {
    if (part.type !== 'file' || (part.fieldname !== 'a' && part.fieldname !== 'b')) {
      throw new VerificationError(
        'BAD_REQUEST',
        `Unexpected multipart field ${part.fieldname}; send files a and b.`,
      );
    }
    const data = await part.toBuffer();
    if (part.file.truncated) throw VerificationError.imageTooLarge(data.length, maxBytes);
    files[part.fieldname] = data;
  }
  if (!files.a || !files.b) {
    throw new VerificationError(
      'MISSING_IMAGE',
      `Missing image field ${files.a ? 'b' : 'a'}; send files a and b.`,
    );
  }
  return { a: files.a, b: files.b };
}

export interface VerifyRouteOptions {
  verifier: FaceVerifier;
  maxImageBytes: number;
  /** Who may call: a tenant's API key (or open mode); the demo route, our own pages. */
  access: AccessControl;
  /** The per-key rate limit (`@fastify/rate-limit` route config). */
  rateLimit?: RateLimitOptions;
}

/**
 * `POST /v1/verify`: two images (multipart files `a`, `b`, or JSON base64) → distance and verdict,
 * for tenants (API key). `POST /v1/demo/verify` is the same for the demo page's Match.
 */
export async function verifyRoutes(
  app: FastifyInstance,
  { verifier, maxImageBytes, access, rateLimit }: VerifyRouteOptions,
): Promise<void> {
  for (const [url, authorize] of [
    ['/v1/verify', (request: FastifyRequest) => access.tenant(request)],
    ['/v1/demo/verify', (request: FastifyRequest) => access.demoTenant(request)],
  ] as const)
    app.post(
      url,
      {
        // Before the body is read: an unauthorised upload is never buffered.
        onRequest: async (request) => {
          authorize(request);
        },
        // Then the framing, still before the body is read: its encoding and content type.
        preParsing: async (request, _reply, payload) => {
          checkBodyFraming(request, ACCEPTS);
          return payload;
        },
        ...(rateLimit && { config: { rateLimit } }),
        // Two base64 images plus JSON overhead; multipart parts are limited per file instead.
        bodyLimit: Math.ceil((2 * maxImageBytes * 4) / 3) + 4096,
        schema: {
          summary: url === '/v1/verify' ? 'Verify two images' : 'Verify two images (demo page)',
          description: `Two images (JPEG, PNG or WebP, at most ${maxImageBytes} bytes each) as multipart files \`a\` and \`b\`, or as JSON with both base64-encoded: the embedding distance, the verdict at the model's threshold, and the face used in each image.`,
          tags: url === '/v1/verify' ? ['verify'] : ['demo'],
          ...(url === '/v1/verify' && { security: [{ apiKey: [] }] }),
          // Documentation only (openapi.ts): a `body` schema would have Fastify refuse multipart.
          documentedBody: {
            content: {
              'multipart/form-data': { schema: VerifyFormSchema },
              'application/json': { schema: VerifyJsonBodySchema },
            },
          },
          response: { 200: VerifyResultSchema, '4xx': ErrorBodySchema, '5xx': ErrorBodySchema },
        },
      },
      async (request) => {
        let images: { a: Buffer; b: Buffer };
        if (request.isMultipart()) {
          images = await readMultipart(request, maxImageBytes);
        } else {
          const bodyValue = request.body as Partial<VerifyJsonBody> | undefined;
          if (typeof bodyValue !== 'object' || bodyValue === null) {
            throw new VerificationError(
              'BAD_REQUEST',
              'Send multipart files a and b, or JSON {"a": base64, "b": base64}.',
            );
          }
          for (const field of ['a', 'b'] as const) {
            if (typeof bodyValue[field] !== 'string' || bodyValue[field].length === 0) {
              throw new VerificationError('MISSING_IMAGE', `Missing image field ${field}.`);
            }
          }
          images = {
            a: decodeBase64('a', bodyValue.a!, maxImageBytes),
            b: decodeBase64('b', bodyValue.b!, maxImageBytes),
          };
        }
        return verifier.verifyPair(images.a, images.b);
      },
    );
}
