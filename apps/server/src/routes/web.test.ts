import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FaceVerifier } from '@fv/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipart } from '../../../../tests/support/live-client.ts';
import { MODEL_DIR } from '../../../../tests/support/shared-data.ts';
import { buildApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { parseOrigin } from './sessions.ts';

// The pages' contents are the web build's business (tested in Chromium, tests/web); here a stand-in
// build checks what the server adds: headers, the embed's origins, and refusals.
describe('web pages', () => {
  let app: FastifyInstance;
  let verifier: FaceVerifier;
  let dist: string;

  beforeAll(async () => {
    dist = mkdtempSync(path.join(tmpdir(), 'fv-web-'));
    mkdirSync(path.join(dist, 'assets'));
    for (const page of ['index', 'ops'])
      writeFileSync(path.join(dist, `${page}.html`), `<html>${page}</html>`);
    writeFileSync(path.join(dist, 'embed.html'), '<html><head><!--fv-embed-config--></head>embed</html>');
    writeFileSync(path.join(dist, 'assets', 'app-1234.js'), 'export {};');
    verifier = await FaceVerifier.create({ modelDir: MODEL_DIR, embedder: { intraOpThreads: 1 } });
    app = await buildApp({ config: loadConfig({ WEB_DIST_DIR: dist }), verifier, logger: false });
  });
  afterAll(async () => {
    await app.close();
    await verifier.close();
    rmSync(dist, { recursive: true, force: true });
  });

  const createSession = async (origins: string[], ttlSeconds?: number) => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/sessions',
      ...multipart([], { allowedOrigin: origins, ...(ttlSeconds && { ttlSeconds: String(ttlSeconds) }) }),
    });
    return res;
  };

  it('serves the pages with a CSP that allows only our own scripts and connections', async () => {
    for (const [url, ancestors] of [
      ['/', "frame-ancestors 'self'"],
      ['/ops', "frame-ancestors 'none'"],
    ] as const) {
      const res = await app.inject(url);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain(ancestors);
    }
    const asset = await app.inject('/assets/app-1234.js');
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
  });

  it('frames the embed page only for the session’s allowed origins and tells the page them', async () => {
    const created = await createSession(['https://shop.example', 'http://198.18.0.2:8080']);
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body.allowedOrigins).toEqual(['https://shop.example', 'http://198.18.0.2:8080']);
    expect(body.embedPath).toBe(`/embed?token=${encodeURIComponent(body.token)}`);
    const res = await app.inject(body.embedPath);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toContain(
      'frame-ancestors https://shop.example http://198.18.0.2:8080',
    );
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.body).toContain(
      '<script type="application/json" id="fv-embed-config">{"allowedOrigins":["https://shop.example","http://198.18.0.2:8080"]}</script>',
    );
    // Loading the page does not spend the token: the stream's hello does.
    const again = await app.inject(body.embedPath);
    expect(again.statusCode).toBe(200);
  });

  it('without allowed origins the embed page may only be framed by our own pages', async () => {
    const body = (await createSession([])).json();
    const res = await app.inject(body.embedPath);
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'self'");
    expect(res.body).toContain('{"allowedOrigins":[]}');
  });

  it('refuses bad embed links and bad origins with coded errors', async () => {
    const cases: [string, number, string][] = [
      ['/embed', 401, 'UNAUTHORIZED'],
      ['/embed?token=nope', 401, 'UNAUTHORIZED'],
      [`/embed?token=ses_AAAAAAAAAAAAAAAA.${'A'.repeat(32)}`, 404, 'NOT_FOUND'],
    ];
    for (const [url, status, code] of cases) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(status);
      expect(res.json().error.code).toBe(code);
    }
    for (const origin of [
      '*',
      'https://shop.example/path',
      'javascript:alert(1)',
      'ftp://x.example',
      'shop.example',
    ]) {
      const res = await createSession([origin]);
      expect(res.statusCode, origin).toBe(400);
      expect(res.json().error.code).toBe('BAD_REQUEST');
    }
    expect(parseOrigin('https://Shop.Example:443')).toBe('https://shop.example');
  });

  it('answers WEB_NOT_BUILT when the web app has not been built', async () => {
    const bare = await buildApp({
      config: loadConfig({ WEB_DIST_DIR: path.join(dist, 'missing') }),
      verifier,
      logger: false,
    });
    const res = await bare.inject('/');
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('WEB_NOT_BUILT');
    await bare.close();
  });
});
