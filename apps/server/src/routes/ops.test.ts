import path from 'node:path';
import { parseOpsServerMessage, type OpsServerMessage, type OpsSnapshotMessage } from '@fv/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { connect as connectTo, streamJpeg } from '../../../../tests/support/live-client.ts';
import { sharedDataDir } from '../../../../tests/support/shared-data.ts';
import { startTestApp, type TestApp } from '../../../../tests/support/test-app.ts';
import { PROTOCOL_VERSION } from '@fv/protocol';

const video = (name: string): string => path.join(sharedDataDir(), 'video', name);

/** An operator socket: every message parsed with the ops parser, waitable like the live Inbox. */
async function connectOps(url: string): Promise<{
  socket: WebSocket;
  messages: OpsServerMessage[];
  next: (test: (m: OpsServerMessage) => boolean, timeoutMs?: number) => Promise<OpsServerMessage>;
}> {
  const socket = new WebSocket(url);
  const messages: OpsServerMessage[] = [];
  let waiters: { test: (m: OpsServerMessage) => boolean; resolve: (m: OpsServerMessage) => void }[] = [];
  socket.on('message', (data: Buffer) => {
    const message = parseOpsServerMessage(data.toString('utf8'));
    messages.push(message);
    waiters = waiters.filter((w) => (w.test(message) ? (w.resolve(message), false) : true));
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  // Waits for a message after those already seen, so repeated waits observe time passing.
  const next = (test: (m: OpsServerMessage) => boolean, timeoutMs = 20_000): Promise<OpsServerMessage> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for an ops message')), timeoutMs);
      waiters.push({ test, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  return { socket, messages, next };
}

describe('operator feed WS /v1/ops', () => {
  let server: TestApp;
  let base: string;

  beforeAll(async () => {
    server = await startTestApp();
    base = server.wsBase;
  });
  afterAll(() => server.close());

  const startSession = async (): Promise<{ sessionId: string; socket: WebSocket }> => {
    const { sessionId, token } = await server.createSession();
    const { socket, inbox } = await connectTo(`${base}/v1/sessions/${sessionId}/stream`);
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
    await inbox.next((m) => m.type === 'welcome');
    return { sessionId, socket };
  };

  it('lists a streaming session with a moving score, and a subscriber gets its timeline', async () => {
    const { sessionId, socket } = await startSession();
    const ops = await connectOps(`${base}/v1/ops`);
    // Real time: the session analyses frames on the wall clock and the feed ticks once a second.
    const streaming = streamJpeg(socket, video('person-a_320x240_3s.y4m'));

    const rowIn = (m: OpsServerMessage) =>
      m.type === 'ops_snapshot' ? m.sessions.find((s) => s.sessionId === sessionId) : undefined;
    const first = await ops.next((m) => (rowIn(m)?.sparkline.length ?? 0) >= 2);
    const later = await ops.next((m) => (rowIn(m)?.sparkline.length ?? 0) > rowIn(first)!.sparkline.length);
    const row = rowIn(later)!;
    // A loaded machine may lower the session's rate (degraded); either way it is live.
    expect(row).toMatchObject({ state: expect.stringMatching(/^(streaming|degraded)$/), transport: 'jpeg' });
    expect(row.fps).toBeGreaterThan(0);
    expect(row.framesAnalysed).toBeGreaterThan(rowIn(first)!.framesAnalysed);
    expect(row.framesReceived).toBeGreaterThanOrEqual(row.framesAnalysed);
    expect(row.smoothedDistance).toBeGreaterThan(0);
    // The sparkline moves: new points were appended between the two snapshots.
    expect(row.sparkline.at(-1)).toBe(row.smoothedDistance);
    expect(row.sparkline).not.toEqual(rowIn(first)!.sparkline);
    const system = (later as OpsSnapshotMessage).system;
    expect(system).toMatchObject({ mode: 'embedded', queueDepth: null });
    expect(system.liveSessions).toBeGreaterThanOrEqual(1);
    expect(system.batchHistogram.reduce((n, b) => n + b.count, 0)).toBeGreaterThan(0);
    expect(system.latencyMs.p50).toBeGreaterThan(0);
    expect(system.latencyMs.p95).toBeGreaterThanOrEqual(system.latencyMs.p50!);

    ops.socket.send(JSON.stringify({ type: 'ops_subscribe', sessionId }));
    const detail = await ops.next((m) => m.type === 'ops_session_detail');
    if (detail.type !== 'ops_session_detail') throw new Error('unreachable');
    expect(detail.sessionId).toBe(sessionId);
    expect(detail.timeline.length).toBeGreaterThanOrEqual(row.sparkline.length);
    const points = await ops.next((m) => m.type === 'ops_session_points');
    if (points.type !== 'ops_session_points') throw new Error('unreachable');
    // Appended points continue the timeline, none repeated.
    expect(points.points[0]!.t).toBeGreaterThan(detail.timeline.at(-1)!.t);

    await streaming;
    ops.socket.send(JSON.stringify({ type: 'ops_unsubscribe' }));
    socket.close();
    ops.socket.close();
  });

  it('does not resend the timeline to a socket already following that session', async () => {
    const { sessionId, socket } = await startSession();
    const ops = await connectOps(`${base}/v1/ops`);
    ops.socket.send(JSON.stringify({ type: 'ops_subscribe', sessionId }));
    await ops.next((m) => m.type === 'ops_session_detail');
    for (let i = 0; i < 5; i++) ops.socket.send(JSON.stringify({ type: 'ops_subscribe', sessionId }));
    // Answers come in order: any timeline the repeats caused would precede this error.
    ops.socket.send(JSON.stringify({ type: 'ops_subscribe', sessionId: 'ses_nosuchsession00' }));
    await ops.next((m) => m.type === 'error');
    expect(ops.messages.filter((m) => m.type === 'ops_session_detail')).toHaveLength(1);
    socket.close();
    ops.socket.close();
  });

  it('closes an operator socket sending past its budget with MESSAGE_RATE_EXCEEDED (4429), counted', async () => {
    const closedForRate = async (): Promise<number> =>
      Number(
        /^fv_ws_closed_for_rate_total\{route="ops"\} (\d+)/m.exec(
          (await server.app.inject('/metrics')).body,
        )?.[1] ?? NaN,
      );
    const before = await closedForRate();
    const ops = await connectOps(`${base}/v1/ops`);
    const closed = new Promise<[number, string]>((resolve) =>
      ops.socket.once('close', (code, reason) => resolve([code, reason.toString()])),
    );
    // Far past the operator budget (bursts of 100), all at once.
    for (let i = 0; i < 1000; i++) ops.socket.send(JSON.stringify({ type: 'ops_unsubscribe' }));
    expect(await ops.next((m) => m.type === 'error')).toMatchObject({
      code: 'MESSAGE_RATE_EXCEEDED',
      fatal: true,
    });
    expect(await closed).toEqual([4429, 'MESSAGE_RATE_EXCEEDED']);
    expect((await closedForRate()) - before).toBe(1);
    expect((await server.app.inject('/healthz')).statusCode).toBe(200);
  });

  it('answers malformed operator messages with BAD_MESSAGE and keeps the feed going', async () => {
    const ops = await connectOps(`${base}/v1/ops`);
    const errors = (): OpsServerMessage[] => ops.messages.filter((m) => m.type === 'error');
    for (const bad of [
      'not json',
      '{"type":"ops_subscribe"}',
      '{"type":"ops_subscribe","sessionId":"x","extra":1}',
      JSON.stringify({ type: 'ops_subscribe', sessionId: 'x'.repeat(5000) }),
    ]) {
      const seen = errors().length;
      ops.socket.send(bad);
      await ops.next((m) => m.type === 'error');
      expect(errors()[seen]).toMatchObject({ code: 'BAD_MESSAGE', fatal: false });
    }
    ops.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await ops.next((m) => m.type === 'error')).toMatchObject({ code: 'BAD_MESSAGE', fatal: false });
    ops.socket.send(JSON.stringify({ type: 'ops_subscribe', sessionId: 'ses_nosuchsession00' }));
    expect(await ops.next((m) => m.type === 'error')).toMatchObject({ code: 'NOT_FOUND', fatal: false });
    // Still open and still fed; the server still serves.
    expect(await ops.next((m) => m.type === 'ops_snapshot')).toMatchObject({ type: 'ops_snapshot' });
    expect(ops.socket.readyState).toBe(WebSocket.OPEN);
    expect((await server.app.inject('/healthz')).statusCode).toBe(200);
    ops.socket.close();
  });
});
