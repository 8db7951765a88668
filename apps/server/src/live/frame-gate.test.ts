import { describe, expect, it } from 'vitest';
import { DEFAULT_FRAME_GATE_OPTIONS, FrameGate, GRID_SLACK, HOST_PREFILTER } from './frame-gate.ts';

describe('FrameGate', () => {
  const gate = (options: { intervalMs?: number; now?: () => number; maxJpegPerSecond?: number } = {}) =>
    new FrameGate({ ...options, intervalMs: () => options.intervalMs ?? 100 });

  it('asks without taking: only a take moves the grid and holds the one slot', () => {
    const g = gate();
    expect(g.ask(1000)).toBe('accepted');
    expect(g.ask(1000)).toBe('accepted');
    expect(g.take(1000)).toBe('accepted');
    expect(g.ask(1001)).toBe('dropped_busy');
    g.release();
    // Due at 1100, less the slack that absorbs capture jitter.
    expect(g.ask(1100 - 100 * GRID_SLACK - 1)).toBe('dropped_rate');
    expect(g.take(1100 - 100 * GRID_SLACK)).toBe('accepted');
    // Counted once per frame: the asks that let a frame through are not; the busy one is a drop,
    // the early one a skip.
    expect(g.counts).toEqual({ received: 4, dropped: 1 });
    g.close();
    g.release();
    expect(g.ask(5000)).toBe('dropped_closed');
    expect(g.take(5000)).toBe('dropped_closed');
    expect(g.counts).toEqual({ received: 6, dropped: 3 });
  });

  it('caps JPEG frames per wall-clock second and says so once a second', () => {
    const g = gate({ maxJpegPerSecond: 3 });
    expect([1000, 1100, 1200, 1300, 1400].map((t) => g.admitJpeg(t))).toEqual([
      'ok',
      'ok',
      'ok',
      'over_first',
      'over',
    ]);
    expect(g.admitJpeg(2000)).toBe('ok');
    expect(DEFAULT_FRAME_GATE_OPTIONS.maxJpegPerSecond).toBe(60);
    expect(() => gate({ maxJpegPerSecond: 0 })).toThrow(TypeError);
  });

  it("tells the WebRTC host when the next frame is wanted, from the session's interval", () => {
    let now = 50_000;
    const g = gate({ intervalMs: 200, now: () => now });
    expect(g.notBefore()).toBe(50_000 + 200 * HOST_PREFILTER);
    now += 1000;
    expect(g.notBefore()).toBe(51_000 + 200 * HOST_PREFILTER);
  });
});
