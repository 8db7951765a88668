import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  receiveWebhook,
  signWebhook,
  verifyWebhook,
  WebhookSender,
  type SessionFinishedEvent,
} from './webhook.ts';

const SECRET = 'whsec_0123456789abcdef';
const event = (id = 'evt_1'): SessionFinishedEvent => ({
  type: 'session.finished',
  id,
  tenantId: 'acme',
  sessionId: 'ses_AAAAAAAAAAAAAAAA',
  reason: 'bye',
  verdict: 'matched',
  distance: 0.2,
  smoothedDistance: 0.21,
  similarity: 0.97,
  threshold: 0.5,
  framesAnalysed: 30,
  liveness: {
    mode: 'active',
    status: 'passed',
    challenges: [
      { index: 0, action: 'smile', status: 'passed', startsAt: 1000, deadline: 5000, decidedAt: 1800 },
      { index: 1, action: 'turn_left', status: 'passed', startsAt: 2800, deadline: 6800, decidedAt: 3500 },
    ],
    attempt: 1,
    retriesLeft: 1,
  },
  decision: 'verified',
  finishedAt: '2026-11-29T06:00:00.000Z',
});

interface Received {
  body: string;
  headers: IncomingMessage['headers'];
}

/** A receiver on loopback answering with the given statuses in turn (the last one repeats). */
async function receiver(statuses: number[]): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      got.push({ body, headers: request.headers });
      response.statusCode = statuses[Math.min(got.length - 1, statuses.length - 1)]!;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, server };
}

describe('signed webhooks', () => {
  const servers: Server[] = [];
  let sender: WebhookSender | null = null;
  afterEach(() => {
    sender?.close();
    for (const s of servers.splice(0)) s.close();
  });

  it('signs the timestamp and body; verification refuses tampering, other secrets and stale timestamps', () => {
    const body = JSON.stringify(event());
    const now = 1_800_000_000_000;
    const ts = now / 1000;
    const signature = signWebhook(SECRET, ts, body);
    const ok = { timestamp: String(ts), signature };
    expect(verifyWebhook(SECRET, ok, body, { now })).toBe(true);
    expect(verifyWebhook(SECRET, ok, body.replace('matched', 'not_matched'), { now })).toBe(false);
    expect(verifyWebhook('another-secret-0000', ok, body, { now })).toBe(false);
    expect(verifyWebhook(SECRET, ok, body, { now: now + 301_000 })).toBe(false);
    expect(verifyWebhook(SECRET, { timestamp: undefined, signature }, body, { now })).toBe(false);
  });

  it('the reference receiver parses a body only once its signature verifies', () => {
    const now = 1_800_000_000_000;
    const ts = now / 1000;
    const signed = (body: string) => ({ timestamp: String(ts), signature: signWebhook(SECRET, ts, body) });
    const body = JSON.stringify(event());
    expect(receiveWebhook(SECRET, signed(body), body, { now })).toEqual(event());
    // Not signed with this secret: refused before the body is read.
    expect(() => receiveWebhook('another-secret-0000', signed(body), body, { now })).toThrow(
      expect.objectContaining({ code: 'UNAUTHORIZED' }),
    );
    // Signed, but no event: refused by the schema.
    for (const bad of [
      '{"type":"session.finished"}',
      JSON.stringify({ ...event(), verdict: 'maybe' }),
      'nope',
    ])
      expect(() => receiveWebhook(SECRET, signed(bad), bad, { now })).toThrow(
        expect.objectContaining({ code: 'BAD_MESSAGE' }),
      );
  });

  it('retries with backoff until the receiver answers 2xx, and the delivery verifies', async () => {
    const hook = await receiver([500, 503, 204]);
    servers.push(hook.server);
    sender = new WebhookSender({ baseDelayMs: 20, maxAttempts: 5 });
    const delivered = new Promise((resolve) => sender!.once('delivered', resolve));
    sender.send(hook.url, SECRET, event());
    expect(await delivered).toMatchObject({ attempts: 3 });
    expect(hook.got).toHaveLength(3);
    const last = hook.got.at(-1)!;
    expect(JSON.parse(last.body)).toEqual(event());
    expect(last.headers['x-fv-delivery']).toBe('evt_1');
    const headers = {
      timestamp: String(last.headers['x-fv-timestamp']),
      signature: String(last.headers['x-fv-signature']),
    };
    expect(verifyWebhook(SECRET, headers, last.body)).toBe(true);
    expect(receiveWebhook(SECRET, headers, last.body)).toEqual(event());
    expect(sender.pending).toBe(0);
  });

  it('gives up after maxAttempts and says so; nothing is left pending', async () => {
    const hook = await receiver([500]);
    servers.push(hook.server);
    sender = new WebhookSender({ baseDelayMs: 10, maxAttempts: 3 });
    const failed = new Promise((resolve) => sender!.once('failed', resolve));
    sender.send(hook.url, SECRET, event());
    expect(await failed).toMatchObject({ attempts: 3, reason: 'HTTP 500' });
    expect(hook.got).toHaveLength(3);
    expect(sender.pending).toBe(0);
  });

  it('bounds what waits: past maxPending the oldest event is dropped and reported', async () => {
    // Nothing listens on this port: every attempt fails fast and is retried much later.
    sender = new WebhookSender({ baseDelayMs: 60_000, maxPending: 2 });
    const failures: string[] = [];
    sender.on('failed', (f) => failures.push(`${f.event.id}: ${f.reason}`));
    for (const id of ['a', 'b', 'c']) sender.send('http://127.0.0.1:9/hook', SECRET, event(id));
    expect(sender.pending).toBe(2);
    expect(failures).toEqual(['a: dropped: too many pending']);
  });
});
