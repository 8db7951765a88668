import swaggerUi from '@fastify/swagger-ui';
import { asyncApiDocument } from '@fv/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ERROR_RESPONSES } from '../openapi.ts';

export interface DocsRouteOptions {
  /** Who may read the reference (the API's own rules: see `AccessControl.authorizeDocs`). */
  authorize: (request: FastifyRequest) => void;
  /** This service's origin as browsers see it (the AsyncAPI server entry). */
  ownOrigin: (request: FastifyRequest) => string;
}

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ');

const documentResponse = (description: string) => ({
  200: { description, type: 'object', additionalProperties: true },
  ...ERROR_RESPONSES,
});

/**
 * `/docs` (Swagger UI), `/openapi.json`, `/asyncapi.json`, all behind `authorize`. Encapsulated:
 * the hook and the UI's Content-Security-Policy apply to these routes and the UI's assets only.
 */
export async function docsRoutes(
  app: FastifyInstance,
  { authorize, ownOrigin }: DocsRouteOptions,
): Promise<void> {
  app.addHook('onRequest', async (request) => authorize(request));
  // The UI's own routes (page, assets, its copy of the document at /docs/json) hide themselves
  // from the document: they are its renderer, not part of the API.
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: CSP,
    theme: { title: 'Face verification API' },
    uiConfig: { deepLinking: true, docExpansion: 'list' },
  });
  app.get(
    '/openapi.json',
    {
      schema: {
        summary: 'This document (OpenAPI 3.1)',
        tags: ['docs'],
        response: documentResponse('OpenAPI 3.1'),
      },
    },
    async () => app.swagger(),
  );
  app.get(
    '/asyncapi.json',
    {
      schema: {
        summary: 'The WebSocket protocol (AsyncAPI 3.0)',
        description: 'Generated from the protocol package’s message schemas, as the server checks them.',
        tags: ['docs'],
        response: documentResponse('AsyncAPI 3.0'),
      },
    },
    async (request) => {
      let origin: URL | null = null;
      try {
        origin = new URL(ownOrigin(request));
      } catch {
        // No usable Host header: the document lists no server, only the addresses.
      }
      return asyncApiDocument(
        origin?.host
          ? { server: { host: origin.host, protocol: origin.protocol === 'https:' ? 'wss' : 'ws' } }
          : {},
      );
    },
  );
}
