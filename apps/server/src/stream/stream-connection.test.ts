import { VerificationError, type FaceVerifier } from '@fv/core';
import { ERROR_CODES, type ServerMessage } from '@fv/protocol';
import type { FastifyRequest } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessControl } from '../access.ts';
import { AttemptLimiter } from '../attempts.ts';
import type { FrameAnalyser } from '../live/frame-analyser.ts';
import type { FramePipeline } from '../live/frame-pipeline.ts';
import { InMemorySessionStore } from '../live/in-memory-session-store.ts';
import { RateShare } from '../live/rate-control.ts';
import { ServerMetrics } from '../metrics.ts';
import { blankJpeg } from '../../../../tests/support/live-client.ts';
import type { StreamContext, StreamSocket } from './stream-context.ts';
import { StreamConnection } from './stream-connection.ts';
import { PROTOCOL_VERSION } from '@fv/protocol';

/** The socket as the connection sees it: what it sends, and how it was closed. */
class FakeSocket {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: ServerMessage[] = [];
  closedWith: [number, string] | null = null;

  send(text: string): void {
    this.sent.push(JSON.parse(text) as ServerMessage);
  }
  close(code: number, reason: string): void {
    this.closedWith ??= [code, reason];
    this.readyState = 3;
  }
  pause(): void {}
  terminate(): void {}
}

/** Where score similarities come from: sigmoid(5 − 10·distance). */
const CALIBRATION = { type: 'logistic', slope: -10, intercept: 5 } as const;
const THRESHOLD = 0.4;
/** The calibration at the threshold: sigmoid(5 − 4). */
const THRESHOLD_SIMILARITY = 1 / (1 + Math.exp(-1));

/**
 * The collaborators a connection needs, none of them the model: an image embeds as `embedImage`
 * says, and a frame's analysis never ends unless `analyse` is given.
 */
function setup({
  analyse = () => new Promise<never>(() => undefined),
  embedImage = async () => ({ embedding: new Float32Array([0, 1]) }),
}: {
  analyse?: FrameAnalyser['analyse'];
  embedImage?: () => Promise<{ embedding: Float32Array }>;
} = {}) {
  const sessions = new InMemorySessionStore();
  const metrics = new ServerMetrics();
  const log = { error: vi.fn() };
  const analyser: FrameAnalyser = { analyse, close: () => undefined };
  const context: StreamContext = {
    sessions,
    verifier: {
      embedder: { manifest: { calibration: CALIBRATION } },
      embedImage,
    } as unknown as FaceVerifier,
    pipeline: { openStream: () => analyser } as unknown as FramePipeline,
    metrics,
    threshold: THRESHOLD,
    access: new AccessControl({ tenants: null, demoTenant: null, opsTokenSha256: null, publicOrigin: null }),
    attempts: new AttemptLimiter(),
    rateShare: new RateShare(),
    iceServers: [],
    webrtc: null,
    helloTimeoutMs: 5000,
    maxBufferedBytes: 1024 * 1024,
    messageBudget: {},
  };
  const connect = async () => {
    const { sessionId, token } = await sessions.create({
      reference: new Float32Array([1, 0]),
      allowedOrigins: [],
      tenantId: 'default',
      maxConcurrent: 10,
      liveness: {
        mode: 'off',
        actions: ['smile'],
        challenges: 1,
        retries: 0,
        windowMs: 4000,
        neutralMs: 1000,
      },
    });
    const socket = new FakeSocket();
    const request = { ip: '127.0.0.1', headers: {}, log } as unknown as FastifyRequest;
    const connection = new StreamConnection(socket as unknown as StreamSocket, request, sessionId, context);
    const say = (message: object): void =>
      connection.handleMessage(Buffer.from(JSON.stringify(message)), false);
    return { sessionId, token, socket, connection, say };
  };
  const active = async (): Promise<number> => (await metrics.activeSessions.get()).values[0]?.value ?? 0;
  return { sessions, metrics, log, connect, active };
}

/** Lets the connection's promise chains (an in-memory store's) run to their end. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('StreamConnection (built directly, a fake socket, an in-memory store)', () => {
  afterEach(() => vi.useRealTimers());

  it('says welcome and its state on hello, answers a config once per change, and closes idempotently', async () => {
    const { sessions, connect, active } = setup();
    const { sessionId, token, socket, connection, say } = await connect();
    say({ type: 'hello', protocol: PROTOCOL_VERSION, token });
    await settle();
    expect(socket.sent[0]).toMatchObject({ type: 'welcome', sessionId, enrolled: true });
    expect(socket.sent[1]).toMatchObject({ type: 'state', state: 'awaiting_media', analysisFps: 10 });
    expect(await active()).toBe(1);
    expect(sessions.get(sessionId).live).not.toBeNull();
    for (let i = 0; i < 3; i++) say({ type: 'config', fps: 6 });
    await settle();
    expect(
      socket.sent.filter((m) => m.type === 'state').map((m) => m.type === 'state' && m.analysisFps),
    ).toEqual([10, 6]);
    // A second hello is a protocol error, said without ending the stream.
    say({ type: 'hello', protocol: PROTOCOL_VERSION, token });
    await settle();
    expect(socket.sent.at(-1)).toMatchObject({ type: 'error', code: 'BAD_MESSAGE', fatal: false });
    connection.close();
    connection.close();
    expect(await active()).toBe(0);
    expect(sessions.get(sessionId).live).toBeNull();
    sessions.close();
  });

  it('says the similarity at the threshold (the calibration at it) in the welcome and every state', async () => {
    const { connect, sessions } = setup();
    const { token, socket, connection, say } = await connect();
    say({ type: 'hello', protocol: PROTOCOL_VERSION, token });
    await settle();
    say({ type: 'config', fps: 6 });
    await settle();
    const told = socket.sent.filter((m) => m.type === 'welcome' || m.type === 'state');
    expect(told.map((m) => m.type)).toEqual(['welcome', 'state', 'state']);
    for (const message of told) {
      expect(message).toHaveProperty('thresholdSimilarity');
      expect((message as { thresholdSimilarity: number }).thresholdSimilarity).toBeCloseTo(
        THRESHOLD_SIMILARITY,
        12,
      );
    }
    connection.close();
    sessions.close();
  });

  it('acknowledges an image enrolment with enrolled, then the state; a refused image with its error only', async () => {
    const embedImage = vi.fn(async () => ({ embedding: new Float32Array([0, 1]) }));
    const { connect, sessions } = setup({ embedImage });
    const { sessionId, token, socket, connection, say } = await connect();
    say({ type: 'hello', protocol: PROTOCOL_VERSION, token });
    await settle();
    const before = socket.sent.length;
    say({ type: 'enroll', source: 'image', image: 'AAAA' });
    await settle();
    expect(socket.sent.slice(before)).toEqual([
      { type: 'enrolled', source: 'image' },
      {
        type: 'state',
        state: 'awaiting_media',
        analysisFps: 10,
        thresholdSimilarity: expect.closeTo(THRESHOLD_SIMILARITY, 12),
        liveness: 'off',
        reason: 'enrolled',
      },
    ]);
    expect(sessions.get(sessionId).reference).toEqual(new Float32Array([0, 1]));

    embedImage.mockRejectedValueOnce(VerificationError.noFace());
    const afterFirst = socket.sent.length;
    say({ type: 'enroll', source: 'image', image: 'AAAA' });
    await settle();
    expect(socket.sent.slice(afterFirst)).toEqual([
      { type: 'error', code: 'NO_FACE', message: expect.any(String), fatal: false },
    ]);
    connection.close();
    sessions.close();
  });

  it('acknowledges a frame enrolment once a single-face frame set the reference', async () => {
    const faces = [0, 2, 1];
    const analyse = vi.fn(async () => {
      const faceCount = faces.shift() ?? 1;
      return {
        faceCount,
        box: null,
        quality: [],
        embedding: faceCount === 1 ? new Float32Array([0.6, 0.8]) : null,
        features: null,
        detectMs: 1,
        embedMs: 1,
      };
    });
    const { connect, sessions } = setup({ analyse });
    const { sessionId, token, socket, connection, say } = await connect();
    say({ type: 'hello', protocol: PROTOCOL_VERSION, token });
    await settle();
    say({ type: 'enroll', source: 'frame' });
    await settle();
    expect(socket.sent.some((m) => m.type === 'enrolled')).toBe(false);
    const frame = await blankJpeg();
    // The wall clock (only it) is ours: each frame a second after the last, on the rate's grid.
    vi.useFakeTimers({ toFake: ['Date'] });
    const sendFrame = async (capturedAt: number): Promise<void> => {
      vi.setSystemTime(capturedAt);
      const calls = analyse.mock.calls.length;
      connection.handleMessage(frame, true);
      // The frame is decoded off the event loop (sharp): wait for its analysis, then its replies.
      await vi.waitFor(() => expect(analyse).toHaveBeenCalledTimes(calls + 1));
      await settle();
    };
    // No face, then two: nothing to enrol from yet.
    await sendFrame(1_000_000);
    await sendFrame(1_001_000);
    expect(socket.sent.some((m) => m.type === 'enrolled')).toBe(false);
    expect(sessions.get(sessionId).reference).toEqual(new Float32Array([1, 0]));
    // One face: its embedding is the reference, and the client is told.
    await sendFrame(1_002_000);
    expect(sessions.get(sessionId).reference).toEqual(new Float32Array([0.6, 0.8]));
    const ack = socket.sent.findIndex((m) => m.type === 'enrolled');
    expect(socket.sent[ack]).toEqual({ type: 'enrolled', source: 'frame' });
    expect(socket.sent[ack + 1]).toMatchObject({
      type: 'state',
      state: 'awaiting_media',
      reason: 'enrolled from the current frame',
    });
    expect(socket.sent.filter((m) => m.type === 'enrolled')).toHaveLength(1);
    connection.close();
    sessions.close();
  });

  it('ends a socket that says nothing but hello-less messages, or nothing in time', async () => {
    vi.useFakeTimers();
    const { connect, sessions } = setup();
    const first = await connect();
    first.say({ type: 'config', fps: 6 });
    await vi.advanceTimersByTimeAsync(0);
    expect(first.socket.sent).toMatchObject([{ type: 'error', code: 'UNAUTHORIZED', fatal: true }]);
    expect(first.socket.closedWith).toEqual([ERROR_CODES.UNAUTHORIZED.ws, 'UNAUTHORIZED']);
    first.connection.close();

    const quiet = await connect();
    await vi.advanceTimersByTimeAsync(4999);
    expect(quiet.socket.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(quiet.socket.sent).toMatchObject([{ type: 'error', code: 'HELLO_TIMEOUT', fatal: true }]);
    expect(quiet.socket.closedWith).toEqual([ERROR_CODES.HELLO_TIMEOUT.ws, 'HELLO_TIMEOUT']);
    quiet.connection.close();
    sessions.close();
  });

  it('starts no live session for a socket that closed while its token was being spent', async () => {
    const { connect, active, sessions } = setup();
    const { sessionId, token, socket, connection, say } = await connect();
    say({ type: 'hello', protocol: PROTOCOL_VERSION, token });
    connection.close();
    await settle();
    expect(socket.sent).toEqual([]);
    expect(await active()).toBe(0);
    expect(sessions.get(sessionId).live).toBeNull();
    // The token was spent all the same: it does not start another stream.
    expect(sessions.get(sessionId).tokenUsed).toBe(true);
    sessions.close();
  });

  it('tells an unexpected failure as INTERNAL, logged, its message not leaked', async () => {
    const { connect, sessions, log } = setup();
    const { token, socket, say } = await connect();
    vi.spyOn(sessions, 'claim').mockRejectedValueOnce(new Error('redis: secret host 10.0.0.7 down'));
    say({ type: 'hello', protocol: PROTOCOL_VERSION, token });
    await settle();
    expect(socket.sent).toEqual([
      { type: 'error', code: 'INTERNAL', message: ERROR_CODES.INTERNAL.message, fatal: true },
    ]);
    expect(socket.closedWith).toEqual([ERROR_CODES.INTERNAL.ws, 'INTERNAL']);
    expect(log.error).toHaveBeenCalledWith({ err: expect.any(Error) }, 'stream error');
    sessions.close();
  });
});
