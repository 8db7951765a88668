// The tenant model's test app (security.test.ts): a tenants file with two tenants (acme, with a
// registered origin, a session cap and a webhook; globex), an operator credential, captured logs
// and a local webhook receiver. Registers its own beforeAll/afterAll in the calling describe.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { FaceVerifier } from '@fv/core';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { buildApp, loadConfig, newApiKey } from '@fv/server';
import { multipart } from './live-client.ts';
import { MODEL_DIR, sharedDataDir } from './shared-data.ts';

export const video = (name: string): string => path.join(sharedDataDir(), 'video', name);
const REFERENCE = readFileSync(video('person-a_reference.jpg'));
export const OPS_TOKEN = 'ops-token-for-tests-0123456789';
export const HOOK_SECRET = 'hook-secret-for-tests-0123456789';
export const SHOP = 'https://shop.example';

export interface TenantFixture {
  readonly acme: { key: string; sha256: string };
  readonly globex: { key: string; sha256: string };
  /** Every log line the fixture's apps wrote. */
  readonly logs: string[];
  /** The webhook receiver: where acme's webhook points, and what it received. */
  readonly hook: { url: string; deliveries: { body: string; headers: Record<string, string> }[] };
  /** An app with the tenants file and `env` on top; listening, so WebSockets work. */
  start(env?: Record<string, string>): Promise<{ app: FastifyInstance; base: string }>;
  /** POST /v1/sessions with person A's reference, as `key`'s tenant (null: no key). */
  create(
    app: FastifyInstance,
    key: string | null,
    fields?: Record<string, string | string[]>,
  ): Promise<LightMyRequestResponse>;
}

export function tenantFixture(): TenantFixture {
  const dir = mkdtempSync(path.join(tmpdir(), 'fv-security-'));
  const acme = newApiKey();
  const globex = newApiKey();
  let verifier: FaceVerifier;
  let hook: {
    server: Server;
    url: string;
    deliveries: { body: string; headers: Record<string, string> }[];
  } | null = null;
  const logs: string[] = [];
  const apps: FastifyInstance[] = [];

  /** An app with the tenants file and `env` on top; listening, so WebSockets work. */
  const start = async (env: Record<string, string> = {}): Promise<{ app: FastifyInstance; base: string }> => {
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString());
        done();
      },
    });
    const app = await buildApp({
      config: loadConfig({
        TENANTS_FILE: path.join(dir, 'tenants.json'),
        OPS_TOKEN_SHA256: createHash('sha256').update(OPS_TOKEN).digest('hex'),
        LOG_LEVEL: 'info',
        ...env,
      }),
      verifier,
      logger: { level: 'info', stream: logStream },
    });
    apps.push(app);
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    return { app, base: address };
  };

  const create = (
    app: FastifyInstance,
    key: string | null,
    fields: Record<string, string | string[]> = {},
  ) => {
    const body = multipart([['reference', REFERENCE]], fields);
    return app.inject({
      method: 'POST',
      url: '/v1/sessions',
      payload: body.payload,
      headers: { ...body.headers, ...(key && { authorization: `Bearer ${key}` }) },
    });
  };

  beforeAll(async () => {
    verifier = await FaceVerifier.create({ modelDir: MODEL_DIR, embedder: { intraOpThreads: 1 } });
    const deliveries: { body: string; headers: Record<string, string> }[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        deliveries.push({ body, headers: request.headers as Record<string, string> });
        response.statusCode = 204;
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    hook = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, deliveries };
    // The process environment's value, as the registry reads webhook secrets from it.
    process.env['ACME_HOOK_SECRET'] = HOOK_SECRET;
    writeFileSync(
      path.join(dir, 'tenants.json'),
      JSON.stringify({
        tenants: [
          {
            id: 'acme',
            name: 'Acme',
            keySha256: [acme.sha256],
            allowedOrigins: [SHOP],
            maxConcurrentSessions: 3,
            webhook: { url: hook.url, secretEnv: 'ACME_HOOK_SECRET' },
          },
          { id: 'globex', name: 'Globex', keySha256: [globex.sha256] },
        ],
      }),
    );
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    hook?.server.close();
    await verifier?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    acme,
    globex,
    logs,
    get hook() {
      if (!hook) throw new Error('the fixture starts in beforeAll');
      return hook;
    },
    start,
    create,
  };
}
