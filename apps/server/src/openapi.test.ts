import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FaceVerifier } from '@fv/core';
import {
  ClientMessageSchema,
  OpsClientMessageSchema,
  OpsServerMessageSchema,
  ServerMessageSchema,
  messageTypeOf,
} from '@fv/protocol';
import type { TSchema } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipart } from '../../../tests/support/live-client.ts';
import { MODEL_DIR } from '../../../tests/support/shared-data.ts';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { newApiKey } from './tenants.ts';

type Json = Record<string, unknown>;
interface Route {
  method: string;
  url: string;
}

/**
 * Every route the app has, from Fastify's router itself (`printRoutes`, the radix tree: each
 * line's fragment continues its parent's), so a route added out of the API reference's sight —
 * before @fastify/swagger, or in a context it does not see — is found all the same.
 */
function registeredRoutes(app: FastifyInstance): Route[] {
  const routes: Route[] = [];
  const prefixes: string[] = [];
  for (const line of app.printRoutes().split('\n')) {
    const match = /^(.*?)[├└]── (.+)$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const [, fragment, methods] = /^(.*?)(?: \(([A-Z, ]+)\))?$/.exec(match[2]!)!;
    const url = (prefixes[depth - 1] ?? '') + fragment;
    prefixes[depth] = url;
    for (const method of methods?.split(', ') ?? []) routes.push({ method, url });
  }
  return routes;
}

/**
 * Routes left out of the reference, and why: Fastify's automatic HEAD twin of every GET; the
 * reference's own UI (`/docs`: its page, scripts and copy of the document); the web build's
 * content-hashed assets. Anything else must be documented.
 */
const undocumentedByDesign = ({ method, url }: Route): boolean =>
  method === 'HEAD' || url === '/docs' || url.startsWith('/docs/') || url.startsWith('/assets/');

const openApiPath = (url: string): string => url.replace(/:(\w+)/g, '{$1}');

/** What is wrong with the document for these routes: missing, or without summary/tags/responses. */
function documentationProblems(routes: Route[], doc: Json): string[] {
  const paths = doc['paths'] as Record<string, Record<string, Json>>;
  const problems: string[] = [];
  for (const route of routes.filter((r) => !undocumentedByDesign(r))) {
    const name = `${route.method} ${route.url}`;
    const operation = paths[openApiPath(route.url)]?.[route.method.toLowerCase()];
    if (!operation) {
      problems.push(`${name}: not in /openapi.json`);
      continue;
    }
    if (typeof operation['summary'] !== 'string' || operation['summary'] === '')
      problems.push(`${name}: no summary`);
    if (!Array.isArray(operation['tags']) || operation['tags'].length === 0)
      problems.push(`${name}: no tags`);
    const responses = Object.values((operation['responses'] ?? {}) as Record<string, Json>);
    if (!responses.some((r) => r['content'] !== undefined || r['description'] !== 'Default Response'))
      problems.push(`${name}: no documented response (add schema.response)`);
  }
  return problems;
}

const PROTOCOL_UNIONS = [
  { channel: 'stream', receive: ClientMessageSchema, send: ServerMessageSchema },
  { channel: 'ops', receive: OpsClientMessageSchema, send: OpsServerMessageSchema },
];

const OPS_TOKEN = 'ops-token-for-openapi-tests-0123';
const DOC_URLS = ['/docs', '/docs/static/swagger-ui.css', '/docs/json', '/openapi.json', '/asyncapi.json'];

describe('API reference', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fv-openapi-'));
  const key = newApiKey();
  let verifier: FaceVerifier;
  let open: FastifyInstance;
  let tenants: FastifyInstance;
  const light = { DETECT_WORKERS: '0', WEBRTC_ISOLATION: 'false' };

  beforeAll(async () => {
    writeFileSync(
      path.join(dir, 'tenants.json'),
      JSON.stringify({ tenants: [{ id: 'acme', name: 'Acme', keySha256: [key.sha256] }] }),
    );
    verifier = await FaceVerifier.create({ modelDir: MODEL_DIR, embedder: { intraOpThreads: 1 } });
    open = await buildApp({ config: loadConfig(light), verifier, logger: false });
    tenants = await buildApp({
      config: loadConfig({
        ...light,
        TENANTS_FILE: path.join(dir, 'tenants.json'),
        OPS_TOKEN_SHA256: createHash('sha256').update(OPS_TOKEN).digest('hex'),
        METRICS_TOKEN_SHA256: createHash('sha256').update('metrics-token').digest('hex'),
      }),
      verifier,
      logger: false,
    });
    await Promise.all([open.ready(), tenants.ready()]);
  });
  afterAll(async () => {
    await open?.close();
    await tenants?.close();
    await verifier?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('documents every route with its method, a summary, tags and responses (both modes)', async () => {
    for (const app of [open, tenants]) {
      const routes = registeredRoutes(app);
      // The router listing itself works: known routes are found.
      for (const known of ['GET /healthz', 'POST /v1/verify', 'GET /v1/sessions/:id/stream', 'GET /v1/ops'])
        expect(routes.map((r) => `${r.method} ${r.url}`)).toContain(known);
      const res = await app.inject({
        url: '/openapi.json',
        headers: app === tenants ? { authorization: `Bearer ${key.key}` } : {},
      });
      expect(res.statusCode).toBe(200);
      const doc = res.json();
      expect(doc.openapi).toMatch(/^3\./);
      expect(documentationProblems(routes, doc)).toEqual([]);
      // And nothing is documented that does not exist.
      const registered = new Set(routes.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.url)}`));
      for (const [url, item] of Object.entries(doc.paths as Record<string, Json>))
        for (const method of Object.keys(item)) expect(registered).toContain(`${method} ${url}`);
    }
  });

  it('would fail for a route added without documentation', async () => {
    const doc = (await open.inject('/openapi.json')).json();
    const routes = [...registeredRoutes(open), { method: 'GET', url: '/v1/undocumented' }];
    expect(documentationProblems(routes, doc)).toEqual(['GET /v1/undocumented: not in /openapi.json']);
    const bare = structuredClone(doc);
    delete bare.paths['/healthz'].get.summary;
    bare.paths['/healthz'].get.responses = { 200: { description: 'Default Response' } };
    expect(documentationProblems(registeredRoutes(open), bare)).toEqual([
      'GET /healthz: no summary',
      'GET /healthz: no documented response (add schema.response)',
    ]);
  });

  it('documents multipart bodies without making Fastify validate them', async () => {
    const doc = (await open.inject('/openapi.json')).json();
    const verify = doc.paths['/v1/verify'].post.requestBody.content;
    expect(Object.keys(verify)).toEqual(['multipart/form-data', 'application/json']);
    expect(verify['multipart/form-data'].schema.properties.a).toMatchObject({ format: 'binary' });
    expect(
      doc.paths['/v1/sessions'].post.requestBody.content['multipart/form-data'].schema.properties,
    ).toHaveProperty('reference');
    // A multipart upload still reaches the handler (a session without references needs no model).
    const res = await open.inject({
      method: 'POST',
      url: '/v1/sessions',
      ...multipart([], { ttlSeconds: '60' }),
    });
    expect(res.statusCode).toBe(201);
  });

  it('points each WebSocket route at its AsyncAPI channel, linked from the /docs description', async () => {
    const doc = (await open.inject('/openapi.json')).json();
    const asyncapi = (await open.inject('/asyncapi.json')).json();
    expect(doc.info.description).toContain('(/asyncapi.json)');
    const addresses = Object.values(asyncapi.channels as Record<string, { address: string }>).map((c) =>
      c.address.replace(/\{[^}]+\}/g, '{}'),
    );
    const sockets = Object.entries(doc.paths as Record<string, Record<string, Json>>).filter(
      ([, item]) => (item['get']?.['responses'] as Json | undefined)?.['101'],
    );
    expect(sockets.map(([url]) => url).sort()).toEqual(['/v1/ops', '/v1/sessions/{id}/stream']);
    for (const [url] of sockets) expect(addresses).toContain(url.replace(/\{[^}]+\}/g, '{}'));
  });

  it('serves every message of both sockets’ unions in /asyncapi.json, with its schema', async () => {
    const res = await open.inject({ url: '/asyncapi.json', headers: { host: 'verify.example' } });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.asyncapi).toMatch(/^3\./);
    expect(doc.servers.this).toMatchObject({ host: 'verify.example', protocol: 'ws' });
    for (const { channel, ...directions } of PROTOCOL_UNIONS) {
      for (const [action, union] of Object.entries(directions)) {
        const refs: string[] = doc.operations[`${channel}.${action}`].messages.map((m: Json) => m['$ref']);
        const messages = refs.map((ref) => doc.channels[channel].messages[ref.split('/').at(-1)!]);
        for (const member of union.anyOf as TSchema[]) {
          const type = messageTypeOf(member);
          const message = messages.find((m) => m?.name === type);
          expect(message, `${type} (${channel}, ${action})`).toBeDefined();
          expect(message.payload).toEqual(JSON.parse(JSON.stringify(member)));
        }
      }
    }
  });

  it('open mode: the reference is public, like the API', async () => {
    for (const url of DOC_URLS) expect((await open.inject(url)).statusCode, url).toBe(200);
  });

  it('tenant mode: the reference needs a tenant API key or an operator sign-in', async () => {
    const login = await tenants.inject({
      method: 'POST',
      url: '/v1/ops/login',
      payload: { token: OPS_TOKEN },
    });
    expect(login.statusCode).toBe(204);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    for (const url of DOC_URLS) {
      const anonymous = await tenants.inject(url);
      expect(anonymous.statusCode, url).toBe(401);
      expect(anonymous.json().error.code).toBe('UNAUTHORIZED');
      const wrongKey = await tenants.inject({ url, headers: { authorization: `Bearer ${newApiKey().key}` } });
      expect(wrongKey.json().error.code).toBe('INVALID_API_KEY');
      const forged = await tenants.inject({ url, headers: { cookie: 'fv_ops=99999999999.forged' } });
      expect(forged.statusCode, url).toBe(401);
      expect(
        (await tenants.inject({ url, headers: { authorization: `Bearer ${key.key}` } })).statusCode,
        url,
      ).toBe(200);
      expect((await tenants.inject({ url, headers: { cookie } })).statusCode, url).toBe(200);
    }
    const page = await tenants.inject({ url: '/docs', headers: { cookie } });
    expect(page.headers['content-type']).toContain('text/html');
    expect(String(page.headers['content-security-policy'])).toContain("script-src 'self'");
  });
});
