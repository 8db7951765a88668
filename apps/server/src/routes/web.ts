import fastifyStatic from '@fastify/static';
import { VerificationError } from '@fv/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isWellFormedToken, sessionIdOfToken } from '@fv/protocol';
import type { SessionStore } from '../live/session-store.ts';
import { pageSchema } from '../openapi.ts';

export interface WebRouteOptions {
  /** The Vite build (`apps/web/dist`). */
  distDir: string;
  sessions: SessionStore;
}

/** Headers every page gets: no sniffing, no referrer leaking the token, scripts only from here. */
function pageHeaders(reply: FastifyReply, frameAncestors: string): void {
  void reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header(
      'content-security-policy',
      [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        `frame-ancestors ${frameAncestors}`,
        "base-uri 'none'",
        "form-action 'none'",
      ].join('; '),
    );
}

/** JSON that is safe inside a `<script>` element (no `</script>`, no `<!--`). */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');

/**
 * The web app: `/` (demo: widget + two-image Match), `/ops` (operator dashboard), `/embed?token=…`
 * (the widget for third-party iframes) and the hashed assets under `/assets/`. The embed page is
 * framed only by the session's allowed origins (`Content-Security-Policy: frame-ancestors`) and is
 * told them, so it posts results to those origins alone.
 */
export async function webRoutes(app: FastifyInstance, { distDir, sessions }: WebRouteOptions): Promise<void> {
  const page = (name: string): string => {
    const file = path.join(distDir, name);
    if (!existsSync(file)) throw new VerificationError('WEB_NOT_BUILT');
    return readFileSync(file, 'utf8');
  };
  if (existsSync(path.join(distDir, 'assets'))) {
    await app.register(fastifyStatic, {
      root: path.join(distDir, 'assets'),
      prefix: '/assets/',
      index: false,
      // Vite names assets by content hash: they never change under one name.
      immutable: true,
      maxAge: '365d',
    });
  }

  app.get(
    '/',
    { schema: pageSchema('Demo page: live widget and two-image Match') },
    async (_request, reply) => {
      pageHeaders(reply, "'self'");
      return page('index.html');
    },
  );
  app.get('/ops', { schema: pageSchema('Operator dashboard') }, async (_request, reply) => {
    pageHeaders(reply, "'none'");
    return page('ops.html');
  });
  const embedSchema = pageSchema('Embed page: the live widget for third-party iframes', {
    description:
      'Framed only by the session’s allowed origins (`Content-Security-Policy: frame-ancestors`); the page posts its results to those origins alone.',
    querystring: {
      type: 'object',
      properties: { token: { type: 'string', description: 'The session’s browser token (`embedPath`).' } },
    },
  });
  app.get<{ Querystring: { token?: string } }>('/embed', { schema: embedSchema }, async (request, reply) => {
    const token = typeof request.query.token === 'string' ? request.query.token : '';
    const id = isWellFormedToken(token) ? sessionIdOfToken(token) : null;
    if (!id) throw new VerificationError('UNAUTHORIZED', 'The embed link has no valid token.');
    // The page itself never spends the token (hello does); it only needs the session's origins.
    const record = await sessions.find(id);
    if (!record) throw new VerificationError('NOT_FOUND', 'No such session.');
    if (record.expiresAt <= Date.now()) throw new VerificationError('SESSION_EXPIRED');
    const origins = [...record.allowedOrigins];
    pageHeaders(reply, origins.length > 0 ? origins.join(' ') : "'self'");
    const config = `<script type="application/json" id="fv-embed-config">${scriptJson({ allowedOrigins: origins })}</script>`;
    return page('embed.html').replace('<!--fv-embed-config-->', config);
  });
}
