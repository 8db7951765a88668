import { describe, expect, it } from 'vitest';
import {
  LIVE_LIMITS,
  ProtocolError,
  isWellFormedToken,
  parseClientMessage,
  parseServerMessage,
  sessionIdOfToken,
} from './live.ts';
import { PROTOCOL_VERSION } from './version.ts';

const token = 'tok_0123456789abcdef';
const PENDING = { mode: 'active', status: 'pending', challenges: [], attempt: 0, retriesLeft: 1 } as const;

describe('parseClientMessage', () => {
  it('accepts every client message type, from text, bytes or values', () => {
    expect(parseClientMessage(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }))).toEqual({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      token,
    });
    expect(parseClientMessage(Buffer.from(JSON.stringify({ type: 'offer', sdp: 'v=0\r\n' })))).toMatchObject({
      type: 'offer',
    });
    expect(parseClientMessage({ type: 'ice', candidate: null })).toEqual({ type: 'ice', candidate: null });
    expect(
      parseClientMessage({
        type: 'ice',
        candidate: { candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0 },
      }),
    ).toBeTruthy();
    expect(parseClientMessage({ type: 'enroll', source: 'frame' })).toEqual({
      type: 'enroll',
      source: 'frame',
    });
    expect(parseClientMessage({ type: 'enroll', source: 'image', image: 'AAAA' })).toBeTruthy();
    expect(parseClientMessage({ type: 'config', fps: 12 })).toEqual({ type: 'config', fps: 12 });
    expect(parseClientMessage('{"type":"bye"}')).toEqual({ type: 'bye' });
    expect(parseClientMessage({ type: 'liveness_retry' })).toEqual({ type: 'liveness_retry' });
  });

  it.each([
    ['not JSON', '{type: hello}'],
    ['an unknown type', { type: 'shutdown' }],
    ['an extra field', { type: 'bye', now: true }],
    ['a missing field', { type: 'offer' }],
    ['fps out of range', { type: 'config', fps: 500 }],
    ['a short token', { type: 'hello', protocol: PROTOCOL_VERSION, token: 'x' }],
    ['an oversized SDP', { type: 'offer', sdp: 'a'.repeat(LIVE_LIMITS.maxSdpLength + 1) }],
    ['a non-object', 42],
    ['null', null],
  ])('rejects %s with BAD_MESSAGE', (_label, raw) => {
    expect(() => parseClientMessage(raw)).toThrow(ProtocolError);
    try {
      parseClientMessage(raw);
    } catch (error) {
      expect((error as ProtocolError).code).toBe('BAD_MESSAGE');
    }
  });

  it('refuses oversized text frames before parsing them', () => {
    const big = JSON.stringify({ type: 'offer', sdp: 'a'.repeat(LIVE_LIMITS.maxMessageBytes) });
    expect(() => parseClientMessage(big)).toThrow(/exceeds/);
  });
});

describe('parseServerMessage', () => {
  it.each([
    {
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      sessionId: 'ses_x',
      iceServers: [
        { urls: ['stun:stun.example.com'] },
        { urls: 'turn:t.example.com', username: 'u', credential: 'c' },
      ],
      limits: {
        maxFps: 30,
        maxMessageBytes: 65536,
        maxFrameBytes: 524288,
        expiresAt: '2026-11-29T05:00:00.000Z',
      },
      analysis: { fps: 10, width: 640, height: 480 },
      enrolled: false,
      thresholdSimilarity: 0.42,
      liveness: PENDING,
      resumeToken: `ses_AAAAAAAAAAAAAAAA.${'B'.repeat(32)}`,
    },
    { type: 'answer', sdp: 'v=0\r\n' },
    { type: 'ice', candidate: null },
    {
      type: 'state',
      state: 'degraded',
      analysisFps: 7,
      thresholdSimilarity: 0.42,
      liveness: 'pending',
      reason: 'behind',
    },
    {
      type: 'challenge',
      index: 1,
      count: 3,
      action: 'turn_right',
      deadline: 1_800_000_000_000,
      windowMs: 4000,
    },
    { type: 'liveness', liveness: PENDING, decision: 'pending' },
    {
      type: 'liveness',
      liveness: {
        ...PENDING,
        status: 'failed',
        challenges: [
          { index: 0, action: 'smile', status: 'passed', startsAt: 1, deadline: 2, decidedAt: 1.5 },
          { index: 1, action: 'open_mouth', status: 'failed', reason: 'wrong_action', decidedAt: 3 },
          { index: 2, action: 'turn_left', status: 'waiting' },
        ],
      },
      decision: 'not_verified',
    },
    { type: 'enrolled', source: 'image' },
    { type: 'enrolled', source: 'frame' },
    { type: 'error', code: 'BAD_MESSAGE', message: 'nope', fatal: false },
  ])('round-trips $type through JSON', (message) => {
    expect(parseServerMessage(JSON.stringify(message))).toEqual(message);
    expect(() => parseServerMessage({ ...message, extra: 1 })).toThrow(ProtocolError);
  });

  it('accepts a score event and rejects a malformed one', () => {
    const score = {
      type: 'score',
      frameId: 3,
      capturedAt: 1,
      emittedAt: 2,
      box: { x: 1, y: 2, width: 30, height: 30 },
      faceCount: 1,
      quality: [],
      distance: 0.4,
      smoothedDistance: 0.45,
      similarity: 0.7,
      verdict: 'matched',
      threshold: 0.6,
      liveness: 'passed',
      decision: 'verified',
    };
    expect(parseServerMessage(score)).toEqual(score);
    expect(() => parseServerMessage({ ...score, verdict: 'maybe' })).toThrow(ProtocolError);
    expect(() => parseServerMessage({ ...score, decision: 'probably' })).toThrow(ProtocolError);
    expect(() => parseServerMessage({ ...score, liveness: undefined })).toThrow(ProtocolError);
  });

  it.each([
    ['welcome', 'without the threshold similarity', { thresholdSimilarity: undefined }],
    ['welcome', 'with a threshold similarity over 1', { thresholdSimilarity: 1.5 }],
    ['state', 'without the threshold similarity', { thresholdSimilarity: undefined }],
    ['state', 'with a negative threshold similarity', { thresholdSimilarity: -0.1 }],
    ['state', 'with a threshold similarity that is text', { thresholdSimilarity: '0.4' }],
    ['welcome', 'without liveness', { liveness: undefined }],
    ['welcome', 'with an unknown liveness mode', { liveness: { ...PENDING, mode: 'passive' } }],
    ['challenge', 'with an unknown action', { action: 'wink' }],
    ['challenge', 'with more challenges than a sequence holds', { count: 6 }],
    [
      'liveness',
      'with an unknown failure reason',
      {
        liveness: {
          ...PENDING,
          challenges: [{ index: 0, action: 'smile', status: 'failed', reason: 'sneezed' }],
        },
      },
    ],
    ['enrolled', 'without a source', { source: undefined }],
    ['enrolled', 'from an unknown source', { source: 'upload' }],
    ['enrolled', 'with an extra field', { references: 1 }],
  ])('rejects %s %s', (type, _label, change) => {
    const valid = {
      welcome: {
        type: 'welcome',
        protocol: PROTOCOL_VERSION,
        sessionId: 'ses_x',
        iceServers: [],
        limits: { maxFps: 30, maxMessageBytes: 65536, maxFrameBytes: 524288, expiresAt: 'x' },
        analysis: { fps: 10, width: 640, height: 480 },
        enrolled: true,
        thresholdSimilarity: 0.42,
        liveness: PENDING,
        resumeToken: `ses_AAAAAAAAAAAAAAAA.${'B'.repeat(32)}`,
      },
      state: {
        type: 'state',
        state: 'streaming',
        analysisFps: 10,
        thresholdSimilarity: 0.42,
        liveness: 'off',
      },
      enrolled: { type: 'enrolled', source: 'frame' },
      challenge: { type: 'challenge', index: 0, count: 3, action: 'smile', deadline: 5, windowMs: 4000 },
      liveness: { type: 'liveness', liveness: PENDING, decision: 'pending' },
    }[type]!;
    expect(parseServerMessage(valid)).toEqual(valid);
    // Through JSON, as on the wire: an undefined field is an absent one.
    expect(() => parseServerMessage(JSON.stringify({ ...valid, ...change }))).toThrow(ProtocolError);
  });

  it('accepts an error only with a code of the table', () => {
    const error = { type: 'error', code: 'QUEUE_FULL', message: 'busy', fatal: false };
    expect(parseServerMessage(error)).toEqual(error);
    for (const code of ['queue_full', 'SOMETHING_NEW', 'toString', ''])
      expect(() => parseServerMessage({ ...error, code }), code).toThrow(ProtocolError);
  });
});

describe('browser tokens', () => {
  const token = `ses_AAAAAAAAAAAAAAAA.${'B'.repeat(32)}`;

  it('name their session; only the issued form is well-formed', () => {
    expect(sessionIdOfToken(token)).toBe('ses_AAAAAAAAAAAAAAAA');
    expect(isWellFormedToken(token)).toBe(true);
    // Split all the same, but not of the form the server issues.
    expect(sessionIdOfToken('abc.def')).toBe('abc');
    for (const other of [
      'abc.def',
      `${token}x`,
      `ses_AAAAAAAAAAAAAAA.${'B'.repeat(32)}`,
      token.replace('.', ''),
    ])
      expect(isWellFormedToken(other), other).toBe(false);
    expect(sessionIdOfToken('.x')).toBeNull();
  });
});
