import { describe, expect, it } from 'vitest';
import { OPS_LIMITS, parseOpsClientMessage, parseOpsServerMessage } from './ops.ts';
import { ProtocolError } from './live.ts';

describe('ops channel parsers', () => {
  it('accepts subscribe and unsubscribe, from text or bytes', () => {
    expect(parseOpsClientMessage('{"type":"ops_subscribe","sessionId":"ses_x"}')).toEqual({
      type: 'ops_subscribe',
      sessionId: 'ses_x',
    });
    expect(parseOpsClientMessage(new TextEncoder().encode('{"type":"ops_unsubscribe"}'))).toEqual({
      type: 'ops_unsubscribe',
    });
  });

  it.each([
    ['not json', 'not valid JSON'],
    ['{"type":"ops_subscribe"}', 'invalid'],
    ['{"type":"ops_unsubscribe","x":1}', 'invalid'],
    ['{"type":"hello","protocol":1,"token":"0123456789abcdef"}', 'invalid'],
    [`{"type":"ops_subscribe","sessionId":"${'x'.repeat(OPS_LIMITS.maxClientMessageBytes)}"}`, 'exceeds'],
  ])('refuses %s with BAD_MESSAGE', (raw, words) => {
    expect(() => parseOpsClientMessage(raw)).toThrow(ProtocolError);
    expect(() => parseOpsClientMessage(raw)).toThrow(words);
  });

  it('parses a snapshot bigger than a live message, and bounds sparklines', () => {
    const row = {
      sessionId: 'ses_x',
      state: 'streaming',
      verdict: 'matched',
      distance: 0.3,
      smoothedDistance: 0.31,
      threshold: 0.5,
      fps: 9.5,
      targetFps: 10,
      framesReceived: 20,
      framesAnalysed: 15,
      droppedFrames: 5,
      transport: 'jpeg',
      liveness: 'pending',
      decision: 'pending',
      createdAt: new Date(0).toISOString(),
      expiresAt: new Date(1).toISOString(),
      ageSeconds: 3,
      sparkline: Array.from({ length: OPS_LIMITS.sparklinePoints }, (_, i) => (i % 7 ? 0.312345 : null)),
    };
    const snapshot = {
      type: 'ops_snapshot',
      at: 1,
      system: {
        sessions: 400,
        liveSessions: 400,
        framesPerSecond: 1,
        droppedPerSecond: 0,
        queueDepth: null,
        batchHistogram: [{ size: 1, count: 3 }],
        latencyMs: { p50: 10, p95: null },
        mode: 'embedded',
      },
      sessions: Array.from({ length: 400 }, () => row),
      omitted: 0,
    };
    const text = JSON.stringify(snapshot);
    expect(text.length).toBeGreaterThan(64 * 1024);
    expect(parseOpsServerMessage(text)).toEqual(snapshot);
    const tooLong = { ...snapshot, sessions: [{ ...row, sparkline: [...row.sparkline, 0.1] }] };
    expect(() => parseOpsServerMessage(tooLong)).toThrow(ProtocolError);
  });
});
