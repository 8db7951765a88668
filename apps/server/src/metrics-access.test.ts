import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FaceVerifier } from '@fv/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_DIR } from '../../../tests/support/shared-data.ts';
import { buildApp, metricsListenerOf } from './app.ts';
import { loadConfig } from './config.ts';
import { newApiKey } from './tenants.ts';
import { PROTOCOL_VERSION } from '@fv/protocol';

const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** `/metrics` and `/readyz` tell operators how the service runs: on a tenant deployment, not anyone. */
describe('operational endpoints', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fv-metrics-'));
  const tenantsFile = path.join(dir, 'tenants.json');
  let verifier: FaceVerifier;
  const apps: FastifyInstance[] = [];

  const build = async (env: Record<string, string>): Promise<FastifyInstance> => {
    const app = await buildApp({
      config: loadConfig({ DETECT_WORKERS: '0', WEBRTC_ISOLATION: 'false', ...env }),
      verifier,
      logger: false,
    });
    apps.push(app);
    return app;
  };
  /** The internal listener's `/metrics` URL (it binds when the app gets ready). */
  const internalUrl = async (app: FastifyInstance): Promise<string> => {
    await app.ready();
    const internal = metricsListenerOf(app);
    expect(internal).toBeDefined();
    const { address, port } = internal!.server.address() as AddressInfo;
    return `http://${address}:${port}/metrics`;
  };

  beforeAll(async () => {
    writeFileSync(
      tenantsFile,
      JSON.stringify({ tenants: [{ id: 'acme', name: 'Acme', keySha256: [newApiKey().sha256] }] }),
    );
    verifier = await FaceVerifier.create({ modelDir: MODEL_DIR, embedder: { intraOpThreads: 1 } });
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await verifier?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('open mode: /metrics and the full /readyz are public (development)', async () => {
    const app = await build({});
    const res = await app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toMatch(/^fv_active_sessions /m);
    expect((await app.inject('/readyz')).json()).toMatchObject({
      status: 'ready',
      auth: 'open',
      protocol: PROTOCOL_VERSION,
    });
    expect(metricsListenerOf(app)).toBeUndefined();
  });

  it('tenant mode without METRICS_PORT or token: no /metrics at all (coded 404), /readyz is the status only', async () => {
    const app = await build({ TENANTS_FILE: tenantsFile });
    const res = await app.inject('/metrics');
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
  });

  it('tenant mode with METRICS_TOKEN_SHA256: the bearer token or a coded 401', async () => {
    const app = await build({ TENANTS_FILE: tenantsFile, METRICS_TOKEN_SHA256: sha256(METRICS_TOKEN) });
    for (const authorization of [
      undefined,
      'Bearer wrong-token',
      `Basic ${METRICS_TOKEN}`,
      `Bearer ${METRICS_TOKEN}x`,
    ]) {
      const res = await app.inject({ url: '/metrics', headers: authorization ? { authorization } : {} });
      expect(res.statusCode, authorization).toBe(401);
      expect(res.json().error.code).toBe('UNAUTHORIZED');
      expect(res.body).not.toContain('fv_');
    }
    const res = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/^fv_active_sessions /m);
  });

  it('a configured token is needed in open mode too', async () => {
    const app = await build({ METRICS_TOKEN_SHA256: sha256(METRICS_TOKEN) });
    expect((await app.inject('/metrics')).statusCode).toBe(401);
    const res = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.statusCode).toBe(200);
  });

  it('METRICS_PORT: only the internal listener serves /metrics, and it closes with the app', async () => {
    for (const env of [{ TENANTS_FILE: tenantsFile }, {}] as Record<string, string>[]) {
      const app = await build({ ...env, METRICS_PORT: '0' });
      const url = await internalUrl(app);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const main = await app.inject('/metrics');
      expect(main.statusCode).toBe(404);
      expect(main.json().error.code).toBe('NOT_FOUND');
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(await res.text()).toMatch(/^fv_active_sessions /m);
      // The listener is /metrics and nothing else.
      expect((await fetch(url.replace('/metrics', '/healthz'))).status).toBe(404);
      await app.close();
      expect(metricsListenerOf(app)!.server.listening).toBe(false);
      await expect(fetch(url)).rejects.toThrow();
      await app.close(); // idempotent
    }
  });

  it('METRICS_PORT with a token: the internal listener asks for it as well', async () => {
    const app = await build({
      TENANTS_FILE: tenantsFile,
      METRICS_PORT: '0',
      METRICS_TOKEN_SHA256: sha256(METRICS_TOKEN),
    });
    const url = await internalUrl(app);
    expect(
      (await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } }))
        .statusCode,
    ).toBe(404);
    const refused = await fetch(url);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    expect((await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(200);
  });

  it('a taken METRICS_PORT stops start-up; METRICS_PORT may not be PORT', async () => {
    const first = await build({ METRICS_PORT: '0' });
    const port = new URL(await internalUrl(first)).port;
    const second = await build({ METRICS_PORT: port });
    await expect(second.ready()).rejects.toThrow(/EADDRINUSE|address already in use/i);
    expect(() => loadConfig({ PORT: '9100', METRICS_PORT: '9100' })).toThrow(/METRICS_PORT/);
  });
});
