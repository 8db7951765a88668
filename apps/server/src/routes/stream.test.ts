import { readFileSync } from 'node:fs';
import path from 'node:path';
import { similarityFromDistance, type FaceVerifier } from '@fv/core';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import {
  blankJpeg,
  connect as connectTo,
  multipart,
  streamJpeg,
} from '../../../../tests/support/live-client.ts';
import { sharedDataDir } from '../../../../tests/support/shared-data.ts';
import { startTestApp, type TestApp } from '../../../../tests/support/test-app.ts';
import { PROTOCOL_VERSION } from '@fv/protocol';

const video = (name: string): string => path.join(sharedDataDir(), 'video', name);

describe('live stream over WebSocket with JPEG frames (fallback path)', () => {
  let server: TestApp;
  let app: FastifyInstance;
  let verifier: FaceVerifier;
  let base: string;

  beforeAll(async () => {
    server = await startTestApp();
    ({ app, verifier, wsBase: base } = server);
  });
  afterAll(() => server.close());

  const createSession = (): Promise<{ sessionId: string; token: string }> => server.createSession();

  const connect = (sessionId: string): ReturnType<typeof connectTo> =>
    connectTo(`${base}/v1/sessions/${sessionId}/stream`);

  const stream = (socket: WebSocket, file: string): Promise<void> => streamJpeg(socket, video(file));

  it.each([
    ['person-a_320x240_3s.y4m', 'matched'],
    ['person-b_320x240_3s.y4m', 'not_matched'],
  ])("%s against person A's reference → %s", async (clip, expected) => {
    const { sessionId, token } = await createSession();
    const { socket, inbox } = await connect(sessionId);
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
    const welcome = await inbox.next((m) => m.type === 'welcome');
    expect(welcome).toMatchObject({ sessionId, enrolled: true });
    await stream(socket, clip);
    await new Promise((r) => setTimeout(r, 300));
    const scores = inbox.messages.filter((m) => m.type === 'score');
    expect(scores.length).toBeGreaterThanOrEqual(10);
    const last = scores.at(-1)!;
    expect(last).toMatchObject({ verdict: expected, faceCount: 1 });
    // Live decisions use the 1% false-accept operating point by default, and say so.
    expect(last.threshold).toBe(verifier.embedder.manifest.operatingPoints!['far1e2']!.threshold);
    // The welcome and every state say where that threshold sits on the similarity scale: the
    // calibration the scores' similarities come from, at the threshold.
    const atThreshold = similarityFromDistance(last.threshold, verifier.embedder.manifest.calibration);
    for (const told of [welcome, ...inbox.messages.filter((m) => m.type === 'state')]) {
      expect(told).toMatchObject({ thresholdSimilarity: atThreshold });
    }
    // The server's record is the authority and agrees with what was pushed.
    const view = (await app.inject(`/v1/sessions/${sessionId}`)).json();
    expect(view).toMatchObject({ sessionId, verdict: expected, enrolled: true });
    expect(view.framesAnalysed).toBe(scores.length);
    socket.close();
  });

  it('refuses a replayed token and a wrong one with UNAUTHORIZED', async () => {
    const { sessionId, token } = await createSession();
    const first = await connect(sessionId);
    first.socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
    await first.inbox.next((m) => m.type === 'welcome');
    for (const attempt of [token, `${token}x`]) {
      const again = await connect(sessionId);
      const closed = new Promise<number>((resolve) => again.socket.once('close', resolve));
      again.socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token: attempt }));
      expect(await again.inbox.next((m) => m.type === 'error')).toMatchObject({
        code: 'UNAUTHORIZED',
        fatal: true,
      });
      expect(await closed).toBe(4401);
    }
    first.socket.close();
  });

  it('resumes after a dropped connection with the resume token, which is single-use too', async () => {
    const { sessionId, token } = await createSession();
    const first = await connect(sessionId);
    first.socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
    const welcome = await first.inbox.next((m) => m.type === 'welcome');
    if (welcome.type !== 'welcome') throw new Error('unreachable');
    expect(welcome.resumeToken.startsWith(`${sessionId}.`)).toBe(true);
    expect(welcome.resumeToken).not.toBe(token);
    first.socket.terminate();

    const second = await connect(sessionId);
    second.socket.send(
      JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token: welcome.resumeToken }),
    );
    const again = await second.inbox.next((m) => m.type === 'welcome');
    // The reference survives the reconnect; scoring goes on.
    expect(again).toMatchObject({ sessionId, enrolled: true });
    await stream(second.socket, 'person-a_320x240_3s.y4m');
    await new Promise((r) => setTimeout(r, 300));
    expect(second.inbox.messages.filter((m) => m.type === 'score').at(-1)).toMatchObject({
      verdict: 'matched',
    });

    // Each resume token works once; the spent ones (first and resumed) are refused.
    for (const spent of [token, welcome.resumeToken]) {
      const replay = await connect(sessionId);
      replay.socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token: spent }));
      expect(await replay.inbox.next((m) => m.type === 'error')).toMatchObject({ code: 'UNAUTHORIZED' });
    }
    second.socket.close();
  });

  it('answers bad messages with BAD_MESSAGE and keeps the session', async () => {
    const { sessionId, token } = await createSession();
    const { socket, inbox } = await connect(sessionId);
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
    await inbox.next((m) => m.type === 'welcome');
    socket.send('{"type":"config","fps":1000}');
    expect(await inbox.next((m) => m.type === 'error')).toMatchObject({ code: 'BAD_MESSAGE', fatal: false });
    socket.send(JSON.stringify({ type: 'config', fps: 5 }));
    expect(await inbox.next((m) => m.type === 'state' && m.analysisFps === 5)).toBeTruthy();
    socket.close();
  });

  it('answers an undecodable frame with a coded error and keeps the session', async () => {
    const { sessionId, token } = await createSession();
    const { socket, inbox } = await connect(sessionId);
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
    await inbox.next((m) => m.type === 'welcome');
    const jpeg = await blankJpeg(160);
    // A JPEG cut short, then bytes that are no image: each told with its code, the session kept.
    socket.send(jpeg.subarray(0, jpeg.length - 40));
    expect(await inbox.next((m) => m.type === 'error')).toMatchObject({
      code: 'CORRUPT_IMAGE',
      fatal: false,
    });
    await new Promise((r) => setTimeout(r, 150));
    socket.send(Buffer.from('definitely not an image'));
    expect(await inbox.next((m) => m.type === 'error' && m.code !== 'CORRUPT_IMAGE')).toMatchObject({
      code: 'UNSUPPORTED_IMAGE',
      fatal: false,
    });
    await new Promise((r) => setTimeout(r, 150));
    socket.send(jpeg);
    expect(await inbox.next((m) => m.type === 'score')).toMatchObject({ faceCount: 0 });
    socket.close();
  });

  it('answers a config only when it changes what the client was told', async () => {
    const { sessionId, token } = await createSession();
    const { socket, inbox } = await connect(sessionId);
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
    await inbox.next((m) => m.type === 'welcome');
    for (let i = 0; i < 5; i++) socket.send(JSON.stringify({ type: 'config', fps: 6 }));
    socket.send(JSON.stringify({ type: 'config', fps: 5 }));
    // Answers come in order: the error of this bad message follows every state the configs caused.
    socket.send('{"type":"config","fps":0}');
    await inbox.next((m) => m.type === 'error');
    // The state after the welcome, then one answer per change.
    const states = inbox.messages.filter((m) => m.type === 'state').map((m) => m.analysisFps);
    expect(states.slice(1)).toEqual([6, 5]);
    socket.close();
  });

  it('embeds only the newest of image enrolments sent while one runs, and answers it once', async () => {
    const { sessionId, token } = await createSession();
    const { socket, inbox } = await connect(sessionId);
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
    await inbox.next((m) => m.type === 'welcome');
    const enroll = (image: Buffer): string =>
      JSON.stringify({ type: 'enroll', source: 'image', image: image.toString('base64') });
    // Faceless: each would be refused with NO_FACE, were it not replaced by a later one.
    const blank = await blankJpeg();
    socket.send(enroll(blank));
    socket.send(enroll(blank));
    socket.send(enroll(readFileSync(video('person-b_reference.jpg'))));
    await inbox.next((m) => m.type === 'state' && m.reason === 'enrolled');
    // The first was running when the others came: its NO_FACE is moot, the second never ran.
    expect(inbox.messages.filter((m) => m.type === 'error')).toEqual([]);
    expect(inbox.messages.filter((m) => m.type === 'state' && m.reason === 'enrolled')).toHaveLength(1);
    // Acknowledged once, right before the state it leaves the stream in.
    const ack = inbox.messages.findIndex((m) => m.type === 'enrolled');
    expect(inbox.messages.slice(ack, ack + 2)).toMatchObject([
      { type: 'enrolled', source: 'image' },
      { type: 'state', state: 'awaiting_media', reason: 'enrolled' },
    ]);
    expect(inbox.messages.filter((m) => m.type === 'enrolled')).toHaveLength(1);
    socket.close();
  });

  it("acknowledges a frame enrolment: person B's live face replaces person A's photo, and then matches", async () => {
    const { sessionId, token } = await createSession();
    const { socket, inbox } = await connect(sessionId);
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
    await inbox.next((m) => m.type === 'welcome');
    socket.send(JSON.stringify({ type: 'enroll', source: 'frame' }));
    await stream(socket, 'person-b_320x240_3s.y4m');
    await new Promise((r) => setTimeout(r, 300));
    const ack = inbox.messages.findIndex((m) => m.type === 'enrolled');
    expect(inbox.messages.slice(ack, ack + 2)).toMatchObject([
      { type: 'enrolled', source: 'frame' },
      { type: 'state', state: 'awaiting_media', reason: 'enrolled from the current frame' },
    ]);
    expect(inbox.messages.filter((m) => m.type === 'enrolled')).toHaveLength(1);
    expect(inbox.messages.filter((m) => m.type === 'error')).toEqual([]);
    // Against the reference it took, person B now matches (against A's photo B does not).
    expect(inbox.messages.filter((m) => m.type === 'score').at(-1)).toMatchObject({ verdict: 'matched' });
    socket.close();
  });

  it.each(['text', 'binary'])(
    'closes a socket sending %s messages past its budget with MESSAGE_RATE_EXCEEDED (4429), counted',
    async (kind) => {
      const closedForRate = async (): Promise<number> =>
        Number(
          /^fv_ws_closed_for_rate_total\{route="stream"\} (\d+)/m.exec(
            (await app.inject('/metrics')).body,
          )?.[1] ?? NaN,
        );
      const before = await closedForRate();
      const { sessionId, token } = await createSession();
      const { socket, inbox } = await connect(sessionId);
      socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
      await inbox.next((m) => m.type === 'welcome');
      const closed = new Promise<[number, string]>((resolve) =>
        socket.once('close', (code, reason) => resolve([code, reason.toString()])),
      );
      // Far past the default budget (bursts of 240), all at once.
      const message =
        kind === 'text' ? JSON.stringify({ type: 'config', fps: 6 }) : Buffer.from([0xff, 0xd8]);
      for (let i = 0; i < 2000; i++) socket.send(message, { binary: kind === 'binary' });
      expect(await inbox.next((m) => m.type === 'error' && m.code === 'MESSAGE_RATE_EXCEEDED')).toMatchObject(
        {
          fatal: true,
        },
      );
      expect(await closed).toEqual([4429, 'MESSAGE_RATE_EXCEEDED']);
      expect((await closedForRate()) - before).toBe(1);
      // 2000 identical configs: the first changed the rate and was answered, no other.
      if (kind === 'text') expect(inbox.messages.filter((m) => m.type === 'state')).toHaveLength(2);
      // The server still serves.
      expect((await app.inject('/healthz')).statusCode).toBe(200);
    },
  );

  it('leaks nothing across 100 open/close cycles (20 of them with a WebRTC offer/answer)', async () => {
    const wrtc = (await import('@roamhq/wrtc')).default;
    const gauge = async (): Promise<number> =>
      Number(/^fv_active_sessions (\d+)/m.exec((await app.inject('/metrics')).body)?.[1] ?? NaN);
    const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));
    const resourcesBefore = process.getActiveResourcesInfo().length;
    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < 100; i++) {
      const { sessionId, token } = await createSession();
      const { socket, inbox } = await connect(sessionId);
      socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
      await inbox.next((m) => m.type === 'welcome');
      if (i % 5 === 0) {
        const pc = new wrtc.RTCPeerConnection();
        pc.addTransceiver('video', { direction: 'sendonly' });
        const offer = await pc.createOffer();
        socket.send(JSON.stringify({ type: 'offer', sdp: offer.sdp }));
        expect(await inbox.next((m) => m.type === 'answer')).toMatchObject({ type: 'answer' });
        pc.close();
      }
      const closed = new Promise((r) => socket.once('close', r));
      socket.close();
      await closed;
    }
    await settle();
    expect(await gauge()).toBe(0);
    // Sockets, timers and peer connections are all released: no growth beyond noise.
    expect(process.getActiveResourcesInfo().length - resourcesBefore).toBeLessThanOrEqual(3);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
  });

  it('ends the stream with SESSION_EXPIRED when the session expires', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/sessions',
      ...multipart([['reference', readFileSync(video('person-a_reference.jpg'))]], { ttlSeconds: '1' }),
    });
    expect(res.statusCode).toBe(201);
    const { sessionId, token } = res.json();
    const { socket, inbox } = await connect(sessionId);
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
    await inbox.next((m) => m.type === 'welcome');
    const closed = new Promise<number>((resolve) => socket.once('close', resolve));
    // Real time: the sweeper runs every 5 s on the server's own clock.
    expect(await inbox.next((m) => m.type === 'error', 12_000)).toMatchObject({
      code: 'SESSION_EXPIRED',
      fatal: true,
    });
    expect(await closed).toBe(4410);
    expect((await app.inject(`/v1/sessions/${sessionId}`)).statusCode).toBe(404);
  });

  it('exports Prometheus metrics', async () => {
    const res = await app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    for (const name of [
      'fv_active_sessions',
      'fv_frames_received_total',
      'fv_embed_batch_size',
      'fv_stage_seconds',
    ]) {
      expect(res.body).toContain(name);
    }
  });
});
