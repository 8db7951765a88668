import {
  EMBED_VERSION,
  parseEmbedMessage,
  sessionIdOfToken,
  type EmbedMessage,
  type LivenessState,
} from '@fv/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EmbedBridge, canonicalOrigin, parseEmbedConfig, type PostTarget } from './embed-bridge.ts';

class FakeParent implements PostTarget {
  readonly posts: { message: EmbedMessage; origin: string }[] = [];
  postMessage(message: unknown, targetOrigin: string): void {
    // Structured clone, as the browser does: a message must survive it (no functions, no classes).
    // Then the host page's parser: every message the bridge posts follows the protocol's schema.
    this.posts.push({ message: parseEmbedMessage(structuredClone(message)), origin: targetOrigin });
  }
  types(): string[] {
    return this.posts.map((p) => p.message.type);
  }
}

const SHOP = 'https://shop.example';
const ADMIN = 'https://admin.shop.example:8443';
const score = (d: number) => ({
  distance: d,
  smoothedDistance: d,
  similarity: 1 - d / 2,
  verdict: d < 0.9 ? ('matched' as const) : ('not_matched' as const),
});

describe('EmbedBridge', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('posts each message to every allowed origin and nowhere else, never to *', () => {
    const parent = new FakeParent();
    const bridge = new EmbedBridge({ target: parent, allowedOrigins: [SHOP, ADMIN], sessionId: 's1' });
    bridge.ready();
    bridge.started('jpeg');
    bridge.verdict('matched', 0.4, 0.8);
    bridge.error('QUEUE_FULL', 'busy', false);
    bridge.finished('matched', 0.4, 'verified', 'stopped');

    expect(parent.posts.map((p) => p.origin)).toEqual([
      SHOP,
      ADMIN,
      SHOP,
      ADMIN,
      SHOP,
      ADMIN,
      SHOP,
      ADMIN,
      SHOP,
      ADMIN,
    ]);
    expect(parent.posts.some((p) => p.origin === '*')).toBe(false);
    for (const { message } of parent.posts) {
      expect(message).toMatchObject({ source: 'fv-embed', version: EMBED_VERSION, sessionId: 's1' });
    }
    expect(parent.posts[2]!.message).toEqual({
      source: 'fv-embed',
      version: EMBED_VERSION,
      sessionId: 's1',
      type: 'started',
      transport: 'jpeg',
    });
  });

  it('relays liveness challenges and changes as they come, and the decision in finished', () => {
    const parent = new FakeParent();
    const bridge = new EmbedBridge({ target: parent, allowedOrigins: [SHOP, ADMIN], sessionId: 's1' });
    const drawn: LivenessState = {
      mode: 'active',
      status: 'pending',
      challenges: [
        { index: 0, action: 'smile', status: 'waiting' },
        { index: 1, action: 'turn_left', status: 'waiting' },
      ],
      attempt: 1,
      retriesLeft: 1,
    };
    bridge.liveness(drawn, 'pending');
    bridge.challenge({ index: 0, count: 2, action: 'smile', windowMs: 4000 });
    const t = 1_800_000_000_000;
    const passed: LivenessState = {
      ...drawn,
      challenges: [
        { index: 0, action: 'smile', status: 'passed', startsAt: t, deadline: t + 4000, decidedAt: t + 900 },
        { index: 1, action: 'turn_left', status: 'waiting' },
      ],
    };
    bridge.liveness(passed, 'pending');
    // Each change is posted, even when the decision stays the same (no throttling, no dedup).
    bridge.liveness(passed, 'pending');
    bridge.finished('matched', 0.4, 'not_verified', 'stopped');
    expect(parent.posts.filter((p) => p.origin === SHOP).map((p) => p.message.type)).toEqual([
      'liveness',
      'challenge',
      'liveness',
      'liveness',
      'finished',
    ]);
    expect(parent.posts.filter((p) => p.origin === ADMIN)).toHaveLength(5);
    expect(parent.posts[2]!.message).toEqual({
      source: 'fv-embed',
      version: EMBED_VERSION,
      sessionId: 's1',
      type: 'challenge',
      index: 0,
      count: 2,
      action: 'smile',
      windowMs: 4000,
    });
    expect(parent.posts[4]!.message).toMatchObject({
      type: 'liveness',
      liveness: passed,
      decision: 'pending',
    });
    expect(parent.posts.at(-1)!.message).toMatchObject({
      type: 'finished',
      verdict: 'matched',
      decision: 'not_verified',
      reason: 'stopped',
    });
  });

  it('drops wildcard, opaque and malformed origins so * is never a target', () => {
    const parent = new FakeParent();
    const bridge = new EmbedBridge({
      target: parent,
      allowedOrigins: ['*', 'null', 'https://shop.example/path', 'javascript:alert(1)', SHOP, `${SHOP}/`],
      sessionId: 's1',
    });
    expect(bridge.allowedOrigins).toEqual([SHOP]);
    bridge.ready();
    expect(parent.posts).toEqual([expect.objectContaining({ origin: SHOP })]);
  });

  it('posts nothing without allowed origins, or when not framed', () => {
    const parent = new FakeParent();
    const none = new EmbedBridge({ target: parent, allowedOrigins: [], sessionId: 's1' });
    none.ready();
    none.started('webrtc');
    none.score(score(0.3));
    none.verdict('matched', 0.3, 0.85);
    none.finished('matched', 0.3, 'verified', 'done');
    vi.advanceTimersByTime(5000);
    expect(none.active).toBe(false);

    const unframed = new EmbedBridge({ target: null, allowedOrigins: [SHOP], sessionId: 's1' });
    unframed.ready();
    unframed.score(score(0.3));
    vi.advanceTimersByTime(5000);
    expect(unframed.active).toBe(false);
    expect(parent.posts).toEqual([]);
  });

  it('sends ready once and verdict only on change', () => {
    const parent = new FakeParent();
    const bridge = new EmbedBridge({ target: parent, allowedOrigins: [SHOP], sessionId: 's1' });
    bridge.ready();
    bridge.ready();
    bridge.verdict('pending', null, null);
    bridge.verdict('matched', 0.4, 0.8);
    bridge.verdict('matched', 0.41, 0.79);
    bridge.verdict('not_matched', 1.2, 0.4);
    expect(parent.types()).toEqual(['ready', 'verdict', 'verdict', 'verdict']);
    expect(parent.posts.map((p) => (p.message.type === 'verdict' ? p.message.verdict : null))).toEqual([
      null,
      'pending',
      'matched',
      'not_matched',
    ]);
  });

  it('throttles scores to at most 2 per second and delivers the latest one at the end of a window', () => {
    const parent = new FakeParent();
    const bridge = new EmbedBridge({ target: parent, allowedOrigins: [SHOP], sessionId: 's1' });
    // 10 scores per second for 3 seconds.
    for (let i = 0; i < 30; i++) {
      bridge.score(score(0.5 + i / 100));
      vi.advanceTimersByTime(100);
    }
    vi.advanceTimersByTime(1000);
    const times: number[] = [];
    const scores = parent.posts.filter((p) => p.message.type === 'score');
    expect(scores.length).toBeGreaterThanOrEqual(5);
    expect(scores.length).toBeLessThanOrEqual(7);
    // The last score sent is the last one given (trailing delivery).
    const last = scores.at(-1)!.message;
    expect(last.type === 'score' && last.distance).toBeCloseTo(0.79, 5);

    // Over any one-second window, no more than 2 are posted.
    const timed = new FakeParent();
    const timedBridge = new EmbedBridge({
      target: { postMessage: (m, o) => (times.push(Date.now()), timed.postMessage(m, o)) },
      allowedOrigins: [SHOP],
      sessionId: 's1',
    });
    for (let i = 0; i < 100; i++) {
      timedBridge.score(score(0.5));
      vi.advanceTimersByTime(37);
    }
    for (const t of times) expect(times.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(2);
    expect(times.length).toBeGreaterThanOrEqual(6);
  });

  it('uses the smoothed distance for scores and drops a held score when the session finishes', () => {
    const parent = new FakeParent();
    const bridge = new EmbedBridge({ target: parent, allowedOrigins: [SHOP], sessionId: 's1' });
    bridge.score({ distance: 0.7, smoothedDistance: 0.6, similarity: 0.7, verdict: 'matched' });
    bridge.score({ distance: 0.8, smoothedDistance: 0.65, similarity: 0.68, verdict: 'matched' });
    bridge.finished('matched', 0.65, 'verified', 'stopped');
    vi.advanceTimersByTime(2000);
    expect(parent.types()).toEqual(['score', 'finished']);
    expect(parent.posts[0]!.message).toMatchObject({ type: 'score', distance: 0.6 });
  });

  it('accepts a host stop only from an allowed origin and the parent window', () => {
    const parent = new FakeParent();
    const bridge = new EmbedBridge({ target: parent, allowedOrigins: [SHOP], sessionId: 's1' });
    const stop = { source: 'fv-host', type: 'stop' };
    expect(bridge.handleIncoming({ origin: 'https://evil.example', data: stop })).toBeNull();
    expect(bridge.handleIncoming({ origin: 'null', data: stop })).toBeNull();
    expect(bridge.handleIncoming({ origin: `${SHOP}.evil.example`, data: stop })).toBeNull();
    expect(bridge.handleIncoming({ origin: SHOP, data: stop, source: new FakeParent() })).toBeNull();
    expect(bridge.handleIncoming({ origin: SHOP, data: { source: 'fv-host', type: 'start' } })).toBeNull();
    expect(bridge.handleIncoming({ origin: SHOP, data: 'stop' })).toBeNull();
    expect(bridge.handleIncoming({ origin: SHOP, data: null })).toBeNull();
    expect(bridge.handleIncoming({ origin: SHOP, data: stop })).toBe('stop');
    expect(bridge.handleIncoming({ origin: SHOP, data: stop, source: parent })).toBe('stop');

    const closed = new EmbedBridge({ target: parent, allowedOrigins: [], sessionId: 's1' });
    expect(closed.handleIncoming({ origin: SHOP, data: stop })).toBeNull();
    expect(parent.posts).toEqual([]);
  });

  it('never puts the token or image data into a message', () => {
    const parent = new FakeParent();
    const token = 'sess42.s3cr3t-token-value';
    const bridge = new EmbedBridge({
      target: parent,
      allowedOrigins: [SHOP],
      sessionId: sessionIdOfToken(token) ?? '',
    });
    bridge.ready();
    bridge.started('webrtc');
    bridge.score(score(0.3));
    bridge.verdict('matched', 0.3, 0.85);
    bridge.finished('matched', 0.3, 'verified', 'stopped');
    const text = JSON.stringify(parent.posts);
    expect(text).toContain('sess42');
    expect(text).not.toContain('s3cr3t');
  });

  it('rejects a bad throttle interval', () => {
    expect(
      () => new EmbedBridge({ target: null, allowedOrigins: [], sessionId: '', scoreIntervalMs: -1 }),
    ).toThrow(TypeError);
  });
});

describe('embed config and tokens', () => {
  it('parses the injected config and keeps only concrete origins', () => {
    expect(parseEmbedConfig(`{"allowedOrigins":["${SHOP}","*","${SHOP}"]}`)).toEqual({
      allowedOrigins: [SHOP],
    });
    expect(parseEmbedConfig('{"allowedOrigins":"https://shop.example"}')).toEqual({ allowedOrigins: [] });
    expect(parseEmbedConfig('not json')).toEqual({ allowedOrigins: [] });
    expect(parseEmbedConfig(null)).toEqual({ allowedOrigins: [] });
  });

  it('canonicalises origins', () => {
    expect(canonicalOrigin('http://127.0.0.1:8112')).toBe('http://127.0.0.1:8112');
    expect(canonicalOrigin('https://shop.example/')).toBe(SHOP);
    expect(canonicalOrigin('https://shop.example:443')).toBeNull();
    expect(canonicalOrigin('ftp://shop.example')).toBeNull();
    expect(canonicalOrigin(42)).toBeNull();
  });
});
