import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { readFileSync } from 'node:fs';
import { connect, streamJpeg } from '../../../tests/support/live-client.ts';
import { HOOK_SECRET, OPS_TOKEN, SHOP, tenantFixture, video } from '../../../tests/support/tenant-fixture.ts';
import { newApiKey } from './tenants.ts';
import { verifyWebhook } from './webhook.ts';
import { PROTOCOL_VERSION } from '@fv/protocol';

/** The tenant model end to end: API keys, tokens, origins, operators, limits, webhooks, logs. */
describe('tenants and security', () => {
  const fx = tenantFixture();
  const { acme, globex, logs, start, create } = fx;
  const hook = {
    get url() {
      return fx.hook.url;
    },
    get deliveries() {
      return fx.hook.deliveries;
    },
  };

  it('refuses missing and invalid API keys; a tenant reads only its own sessions (others get 404)', async () => {
    const { app } = await start();
    for (const [key, code] of [
      [null, 'API_KEY_REQUIRED'],
      [newApiKey().key, 'INVALID_API_KEY'],
    ] as const) {
      const res = await create(app, key);
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe(code);
      const verify = await app.inject({ method: 'POST', url: '/v1/verify', payload: {} });
      expect(verify.json().error.code).toBe('API_KEY_REQUIRED');
    }
    const created = await create(app, acme.key);
    expect(created.statusCode).toBe(201);
    const { sessionId, allowedOrigins } = created.json();
    // Naming no origin means the tenant's registered ones.
    expect(allowedOrigins).toEqual([SHOP]);
    const own = await app.inject({
      url: `/v1/sessions/${sessionId}`,
      headers: { authorization: `Bearer ${acme.key}` },
    });
    expect(own.statusCode).toBe(200);
    const other = await app.inject({
      url: `/v1/sessions/${sessionId}`,
      headers: { authorization: `Bearer ${globex.key}` },
    });
    expect(other.statusCode).toBe(404);
    expect(other.json().error.code).toBe('NOT_FOUND');
    expect((await app.inject(`/v1/sessions/${sessionId}`)).json().error.code).toBe('API_KEY_REQUIRED');
    // A tenant may name only origins it registered.
    const foreign = await create(app, acme.key, { allowedOrigin: 'https://evil.example' });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().error.code).toBe('ORIGIN_NOT_ALLOWED');
    // Keyed mode without DEMO_TENANT: no demo routes.
    const demo = await app.inject({ method: 'POST', url: '/v1/demo/sessions' });
    expect(demo.json().error.code).toBe('NOT_FOUND');
  });

  it('refuses a replayed token, an expired token and a page from another origin', async () => {
    const { app, base } = await start({ TOKEN_TTL_SECONDS: '1' });
    const ws = base.replace('http', 'ws');
    const hello = async (sessionId: string, token: string, headers: Record<string, string> = {}) => {
      const { socket, inbox } = await connect(`${ws}/v1/sessions/${sessionId}/stream`, headers);
      const closed = new Promise<number>((resolve) => socket.once('close', resolve));
      socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
      const first = await inbox.next((m) => m.type === 'welcome' || m.type === 'error');
      return { socket, first, closed };
    };

    const a = (await create(app, acme.key)).json();
    const ok = await hello(a.sessionId, a.token, { origin: SHOP });
    expect(ok.first.type).toBe('welcome');
    const replay = await hello(a.sessionId, a.token);
    expect(replay.first).toMatchObject({ type: 'error', code: 'UNAUTHORIZED', fatal: true });
    expect(await replay.closed).toBe(4401);
    ok.socket.close();

    const b = (await create(app, acme.key)).json();
    const evil = await hello(b.sessionId, b.token, { origin: 'https://evil.example' });
    expect(evil.first).toMatchObject({ type: 'error', code: 'ORIGIN_NOT_ALLOWED', fatal: true });
    expect(await evil.closed).toBe(4403);

    // Real time: the token's lifetime runs on the wall clock (1 s here).
    await new Promise((r) => setTimeout(r, 1300));
    const late = await hello(b.sessionId, b.token, { origin: SHOP });
    expect(late.first).toMatchObject({ type: 'error', code: 'TOKEN_EXPIRED', fatal: true });
    expect(await late.closed).toBe(4401);
  });

  it('keeps the dashboard behind the operator credential (not a tenant key)', async () => {
    const { app, base } = await start();
    expect((await app.inject('/v1/ops/session')).statusCode).toBe(401);
    const withKey = await app.inject({
      url: '/v1/ops/session',
      headers: { authorization: `Bearer ${acme.key}` },
    });
    expect(withKey.statusCode).toBe(401);
    const wrong = await app.inject({ method: 'POST', url: '/v1/ops/login', payload: { token: 'nope' } });
    expect(wrong.json().error.code).toBe('UNAUTHORIZED');
    const opsSocket = (headers: Record<string, string> = {}): Promise<WebSocket> =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(`${base.replace('http', 'ws')}/v1/ops`, { headers });
        socket.once('open', () => resolve(socket)).once('error', reject);
      });
    await expect(opsSocket()).rejects.toThrow(/401/);

    const login = await app.inject({ method: 'POST', url: '/v1/ops/login', payload: { token: OPS_TOKEN } });
    expect(login.statusCode).toBe(204);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const cookie = setCookie.split(';')[0]!;
    expect((await app.inject({ url: '/v1/ops/session', headers: { cookie } })).statusCode).toBe(204);
    // A forged cookie (right shape, wrong signature) is refused.
    const forged = cookie.replace(/\.[^.]*$/, '.AAAA');
    expect((await app.inject({ url: '/v1/ops/session', headers: { cookie: forged } })).statusCode).toBe(401);
    const socket = await opsSocket({ cookie });
    const first = await new Promise<string>((resolve) =>
      socket.once('message', (d: Buffer) => resolve(d.toString())),
    );
    expect(JSON.parse(first).type).toBe('ops_snapshot');
    socket.close();
  });

  it('limits each tenant’s concurrent sessions; a finished session frees its slot and its tenant gets a signed webhook', async () => {
    const { app, base } = await start();
    const made = [];
    for (let i = 0; i < 3; i++) made.push((await create(app, acme.key)).json());
    const fourth = await create(app, acme.key);
    expect(fourth.statusCode).toBe(429);
    expect(fourth.json().error.code).toBe('TOO_MANY_SESSIONS');
    // Other tenants are not affected.
    expect((await create(app, globex.key)).statusCode).toBe(201);

    const { sessionId, token } = made[0];
    const { socket, inbox } = await connect(`${base.replace('http', 'ws')}/v1/sessions/${sessionId}/stream`);
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
    await inbox.next((m) => m.type === 'welcome');
    await streamJpeg(socket, video('person-a_320x240_3s.y4m'));
    await inbox.next((m) => m.type === 'score' && m.verdict === 'matched');
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.send(JSON.stringify({ type: 'bye' }));
    await closed;
    await expect.poll(() => hook.deliveries.length).toBeGreaterThanOrEqual(1);
    const delivery = hook.deliveries.find((d) => JSON.parse(d.body).sessionId === sessionId)!;
    const event = JSON.parse(delivery.body);
    expect(event).toMatchObject({
      type: 'session.finished',
      tenantId: 'acme',
      sessionId,
      reason: 'bye',
      verdict: 'matched',
    });
    expect(
      verifyWebhook(
        HOOK_SECRET,
        { timestamp: delivery.headers['x-fv-timestamp'], signature: delivery.headers['x-fv-signature'] },
        delivery.body,
      ),
    ).toBe(true);
    // The slot is free again.
    expect((await create(app, acme.key)).statusCode).toBe(201);
  });

  it('ends a session after too many failed attempts and then refuses the device', async () => {
    const { app, base } = await start({
      MAX_FAILED_ATTEMPTS_PER_SESSION: '1',
      MAX_FAILED_ATTEMPTS_PER_DEVICE: '1',
    });
    const ws = base.replace('http', 'ws');
    const { sessionId, token } = (await create(app, acme.key)).json();
    const { socket, inbox } = await connect(`${ws}/v1/sessions/${sessionId}/stream`);
    const closed = new Promise<number>((resolve) => socket.once('close', resolve));
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
    const welcome = await inbox.next((m) => m.type === 'welcome');
    void streamJpeg(socket, video('person-b_320x240_3s.y4m')).catch(() => undefined);
    expect(await inbox.next((m) => m.type === 'error')).toMatchObject({
      code: 'TOO_MANY_ATTEMPTS',
      fatal: true,
    });
    expect(await closed).toBe(4429);
    // The session is over: its resume token does not start it again, and the device is out of tries.
    if (welcome.type !== 'welcome') throw new Error('unreachable');
    const again = await connect(`${ws}/v1/sessions/${sessionId}/stream`);
    again.socket.send(
      JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token: welcome.resumeToken }),
    );
    expect(await again.inbox.next((m) => m.type === 'error')).toMatchObject({ code: 'TOO_MANY_ATTEMPTS' });
    const next = (await create(app, acme.key)).json();
    const fresh = await connect(`${ws}/v1/sessions/${next.sessionId}/stream`);
    fresh.socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token: next.token }));
    expect(await fresh.inbox.next((m) => m.type === 'error')).toMatchObject({ code: 'TOO_MANY_ATTEMPTS' });
  });

  it('rate-limits per client address and per key with 429 RATE_LIMITED', async () => {
    const { app } = await start({ RATE_LIMIT_PER_MINUTE: '5', KEY_RATE_LIMIT_PER_MINUTE: '3' });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await app.inject({
        url: '/v1/sessions/ses_AAAAAAAAAAAAAAAA',
        headers: { authorization: `Bearer ${acme.key}` },
      });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) {
        expect(res.json().error.code).toBe('RATE_LIMITED');
        expect(res.headers['retry-after']).toBeDefined();
      }
    }
    expect(statuses).toEqual([404, 404, 404, 429]);
    const perIp: number[] = [];
    for (let i = 0; i < 7; i++) perIp.push((await app.inject('/embed?token=x')).statusCode);
    expect(perIp.filter((s) => s === 429).length).toBeGreaterThan(0);
    // Health checks are never limited.
    expect((await app.inject('/healthz')).statusCode).toBe(200);
  });

  it('refuses frames beyond the per-session rate with FRAME_RATE_EXCEEDED and keeps the session', async () => {
    const { app, base } = await start();
    const { sessionId, token } = (await create(app, acme.key)).json();
    const { socket, inbox } = await connect(`${base.replace('http', 'ws')}/v1/sessions/${sessionId}/stream`);
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
    await inbox.next((m) => m.type === 'welcome');
    const tiny = readFileSync(video('person-a_reference.jpg'));
    for (let i = 0; i < 100; i++) socket.send(tiny, { binary: true });
    expect(await inbox.next((m) => m.type === 'error')).toMatchObject({
      code: 'FRAME_RATE_EXCEEDED',
      fatal: false,
    });
    socket.send(JSON.stringify({ type: 'config', fps: 5 }));
    expect(await inbox.next((m) => m.type === 'state' && m.analysisFps === 5)).toBeTruthy();
    socket.close();
  });

  it('never writes keys, tokens or cookies to the logs', async () => {
    const { app } = await start();
    const created = (await create(app, acme.key)).json();
    await app.inject(created.embedPath);
    await app.inject({ method: 'POST', url: '/v1/ops/login', payload: { token: OPS_TOKEN } });
    const text = logs.join('');
    expect(text.length).toBeGreaterThan(0);
    for (const secret of [acme.key, created.token, created.token.split('.')[1], OPS_TOKEN, HOOK_SECRET]) {
      expect(text).not.toContain(secret);
    }
  });
});
