import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROTOCOL_VERSION, parseServerMessage, type ServerMessage } from '@fv/protocol';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, multipart, streamJpeg } from '../../../../tests/support/live-client.ts';
import { sharedDataDir } from '../../../../tests/support/shared-data.ts';
import { startTestApp, type TestApp } from '../../../../tests/support/test-app.ts';

const video = (name: string): string => path.join(sharedDataDir(), 'video', name);

describe('liveness on live sessions (JPEG frames, the real pipeline)', () => {
  let server: TestApp;
  let app: FastifyInstance;
  const reference = (): Buffer => readFileSync(video('person-a_reference.jpg'));

  beforeAll(async () => {
    server = await startTestApp();
    app = server.app;
  });
  afterAll(() => server.close());

  const create = (fields: Record<string, string | string[]>) =>
    app.inject({ method: 'POST', url: '/v1/sessions', ...multipart([['reference', reference()]], fields) });

  /** Streams person A's clip into a new session; returns what the socket said. */
  async function stream(
    fields: Record<string, string | string[]>,
  ): Promise<{ sessionId: string; told: ServerMessage[] }> {
    const created = await create(fields);
    expect(created.statusCode).toBe(201);
    const { sessionId, token } = created.json<{ sessionId: string; token: string }>();
    const { socket, inbox } = await connect(`${server.wsBase}/v1/sessions/${sessionId}/stream`);
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
    await inbox.next((m) => m.type === 'welcome');
    await streamJpeg(socket, video('person-a_320x240_3s.y4m'));
    await new Promise((r) => setTimeout(r, 300));
    socket.close();
    return { sessionId, told: inbox.messages };
  }

  it('takes the tenant’s liveness fields (several parts) and shows the policy’s state', async () => {
    const created = await create({
      livenessAction: ['smile', 'turn_left'],
      livenessChallenges: '2',
      livenessRetries: '0',
    });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ liveness: 'active' });
    const view = await app.inject(`/v1/sessions/${created.json<{ sessionId: string }>().sessionId}`);
    expect(view.json()).toMatchObject({
      liveness: { mode: 'active', status: 'pending', challenges: [], attempt: 0, retriesLeft: 0 },
      decision: 'pending',
    });
  });

  it.each([
    [{ liveness: 'passive' }, /liveness must be/],
    [{ livenessAction: 'wink' }, /not offered/],
    [{ livenessAction: ['smile'], livenessChallenges: '2' }, /livenessChallenges/],
  ])('refuses %j with BAD_REQUEST', async (fields, message) => {
    const res = await create(fields);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(message) });
  });

  it('active: once the face matches a sequence is drawn and announced; a replayed clip is never verified', async () => {
    const { sessionId, told } = await stream({
      livenessAction: ['turn_left', 'turn_right'],
      livenessChallenges: '2',
    });
    const welcome = told.find((m) => m.type === 'welcome');
    expect(welcome).toMatchObject({ liveness: { mode: 'active', status: 'pending', attempt: 0 } });
    const drawn = told.find((m) => m.type === 'liveness');
    expect(drawn).toMatchObject({ liveness: { attempt: 1 }, decision: 'pending' });
    if (drawn?.type !== 'liveness') throw new Error('no liveness message');
    expect(drawn.liveness.challenges.map((c) => c.action).sort()).toEqual(['turn_left', 'turn_right']);
    const challenge = told.find((m) => m.type === 'challenge');
    expect(challenge).toMatchObject({
      index: 0,
      count: 2,
      windowMs: 4000,
      action: drawn.liveness.challenges[0]!.action,
    });
    const scores = told.filter((m) => m.type === 'score');
    expect(scores.some((s) => s.verdict === 'matched')).toBe(true);
    expect(scores.every((s) => s.decision !== 'verified')).toBe(true);
    // The stream closed mid-sequence: the sequence failed (a failed attempt), and the GET says so.
    await new Promise((r) => setTimeout(r, 200));
    const view = (await app.inject(`/v1/sessions/${sessionId}`)).json();
    expect(view).toMatchObject({ liveness: { status: 'failed', attempt: 1 }, decision: 'not_verified' });
    expect(view.liveness.challenges.some((c: { reason?: string }) => c.reason !== undefined)).toBe(true);
  });

  it('off: matching alone decides; a matched face is verified', async () => {
    const { sessionId, told } = await stream({ liveness: 'off' });
    expect(told.find((m) => m.type === 'welcome')).toMatchObject({
      liveness: { mode: 'off', status: 'off' },
    });
    expect(told.some((m) => m.type === 'challenge' || m.type === 'liveness')).toBe(false);
    const last = told.filter((m) => m.type === 'score').at(-1);
    expect(last).toMatchObject({ verdict: 'matched', liveness: 'off', decision: 'verified' });
    expect((await app.inject(`/v1/sessions/${sessionId}`)).json()).toMatchObject({ decision: 'verified' });
  });

  it('refuses a retry before any sequence failed, and goes on', async () => {
    const created = (await create({})).json<{ sessionId: string; token: string }>();
    const { socket, inbox } = await connect(`${server.wsBase}/v1/sessions/${created.sessionId}/stream`);
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token: created.token }));
    await inbox.next((m) => m.type === 'welcome');
    socket.send(JSON.stringify({ type: 'liveness_retry' }));
    const error = await inbox.next((m) => m.type === 'error');
    expect(error).toMatchObject({ code: 'BAD_MESSAGE', fatal: false });
    expect(parseServerMessage(JSON.stringify(error))).toEqual(error);
    socket.close();
  });
});
