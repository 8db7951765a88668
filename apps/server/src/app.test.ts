import { readFileSync } from 'node:fs';
import { FaceVerifier } from '@fv/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipart as multipartBody } from '../../../tests/support/live-client.ts';
import { MODEL_DIR, lfwFile } from '../../../tests/support/shared-data.ts';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { retainedPeers, WebRtcIngest } from './live/webrtc-ingest.ts';

/** Files `a`, `b`, … as multipart parts (the shared helper takes [name, data] pairs). */
const multipart = (files: Record<string, Buffer>): ReturnType<typeof multipartBody> =>
  multipartBody(Object.entries(files));

describe('HTTP API', () => {
  let app: FastifyInstance;
  let verifier: FaceVerifier;
  const same1 = readFileSync(lfwFile('Colin_Powell', 1));
  const same2 = readFileSync(lfwFile('Colin_Powell', 2));

  beforeAll(async () => {
    verifier = await FaceVerifier.create({ modelDir: MODEL_DIR, embedder: { intraOpThreads: 1 } });
    app = await buildApp({ config: loadConfig({ MAX_IMAGE_BYTES: '2000000' }), verifier, logger: false });
  });
  afterAll(async () => {
    await app.close();
    await verifier.close();
  });

  it('GET /healthz and /readyz', async () => {
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await app.inject('/readyz')).json()).toMatchObject({ status: 'ready', model: 'siamese-v5-int8' });
  });

  it('reports itself unready (503) once it keeps too many closed WebRTC peers, so it is recycled', async () => {
    const recycling = await buildApp({
      config: loadConfig({ WEBRTC_RECYCLE_AFTER: '1' }),
      verifier,
      logger: false,
    });
    const ingest = new WebRtcIngest({
      onCandidate: () => undefined,
      onFrame: () => undefined,
      wantsFrame: () => false,
    });
    ingest.close();
    await expect.poll(() => retainedPeers()).toBeGreaterThanOrEqual(1);
    const res = await recycling.inject('/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ status: 'recycle' });
    expect((await recycling.inject('/metrics')).body).toMatch(/^fv_webrtc_retained_peers [1-9]/m);
    await recycling.close();
  });

  it('POST /v1/verify with multipart files a and b', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/verify', ...multipart({ a: same1, b: same2 }) });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ threshold: verifier.threshold, model: 'siamese-v5-int8' });
    expect(body.matched).toBe(body.distance <= body.threshold);
    expect(body.faces.a.count).toBeGreaterThanOrEqual(1);
  });

  it('POST /v1/verify with JSON base64 gives the same answer as multipart', async () => {
    const json = await app.inject({
      method: 'POST',
      url: '/v1/verify',
      payload: { a: same1.toString('base64'), b: `data:image/jpeg;base64,${same2.toString('base64')}` },
    });
    const form = await app.inject({
      method: 'POST',
      url: '/v1/verify',
      ...multipart({ a: same1, b: same2 }),
    });
    expect(json.statusCode).toBe(200);
    expect(json.json().distance).toBeCloseTo(form.json().distance, 6);
  });

  it.each([
    ['a missing image', () => multipart({ a: same1 }), 400, 'MISSING_IMAGE'],
    ['an unexpected field', () => multipart({ a: same1, c: same2 }), 400, 'BAD_REQUEST'],
    [
      'a non-image',
      () => multipart({ a: same1, b: Buffer.from('not an image at all') }),
      415,
      'UNSUPPORTED_IMAGE',
    ],
    ['a truncated JPEG', () => multipart({ a: same1, b: same2.subarray(0, 300) }), 422, 'CORRUPT_IMAGE'],
    ['an empty file', () => multipart({ a: same1, b: Buffer.alloc(0) }), 400, 'EMPTY_IMAGE'],
    [
      'a file over the limit',
      () => multipart({ a: same1, b: Buffer.concat([same2, Buffer.alloc(2_100_000)]) }),
      413,
      'IMAGE_TOO_LARGE',
    ],
  ])('multipart with %s → %i %s', async (_label, body, status, code) => {
    const res = await app.inject({ method: 'POST', url: '/v1/verify', ...body() });
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
    expect(res.json().error.message).toEqual(expect.any(String));
  });

  it.each([
    ['no body', undefined, 400, 'BAD_REQUEST'],
    ['a missing field', { a: 'AAAA' }, 400, 'MISSING_IMAGE'],
    ['invalid base64', { a: '!!!!', b: 'AAAA' }, 400, 'BAD_REQUEST'],
  ])('JSON with %s → %i %s', async (_label, payload, status, code) => {
    const res = await app.inject({ method: 'POST', url: '/v1/verify', ...(payload && { payload }) });
    expect(res.statusCode).toBe(status);
    expect(res.json().error.code).toBe(code);
  });

  it('an image without a face → 422 NO_FACE', async () => {
    const sharp = (await import('sharp')).default;
    const blank = await sharp({ create: { width: 120, height: 120, channels: 3, background: '#777' } })
      .png()
      .toBuffer();
    const res = await app.inject({ method: 'POST', url: '/v1/verify', ...multipart({ a: blank, b: same2 }) });
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toMatchObject({ code: 'NO_FACE', message: expect.stringMatching(/^Image a/) });
  });

  it('unknown routes → 404 NOT_FOUND', async () => {
    const res = await app.inject('/nope');
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
  });
});

describe('start-up', () => {
  it('fails with MODEL_LOAD_FAILED when the model cannot be loaded', async () => {
    await expect(
      buildApp({ config: loadConfig({ MODEL_DIR: '/nonexistent/model' }), logger: false }),
    ).rejects.toMatchObject({
      code: 'MODEL_LOAD_FAILED',
    });
  });

  it('rejects bad settings, naming the setting', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ EXECUTION_PROVIDERS: 'cpu,gpu' })).toThrow(/EXECUTION_PROVIDERS/);
    expect(() => loadConfig({ ICE_SERVERS: '[{"url":"stun:x"}]' })).toThrow(/ICE_SERVERS/);
    expect(() => loadConfig({ LIVE_OPERATING_POINT: 'loose' })).toThrow(/LIVE_OPERATING_POINT/);
    expect(
      loadConfig({ ICE_SERVERS: '[{"urls":"turn:turn.example.com","username":"u","credential":"c"}]' }),
    ).toBeTruthy();
    expect(loadConfig({}).PORT).toBe(8080);
  });
});
