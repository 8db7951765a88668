import { describe, expect, it } from 'vitest';
import { VerdictTracker } from './verdict-tracker.ts';

const feed = (t: VerdictTracker, distances: number[]): string[] =>
  distances.map((d) => t.observe(1, d).verdict);

describe('VerdictTracker', () => {
  it('stays pending until minObservations single-face frames, then decides on the EMA', () => {
    const t = new VerdictTracker({ threshold: 0.5, minObservations: 3, alpha: 0.5 });
    expect(feed(t, [0.2, 0.3])).toEqual(['pending', 'pending']);
    expect(t.observe(1, 0.4)).toEqual({ verdict: 'matched', smoothedDistance: 0.325, changed: true });
  });

  it('smooths with an exact EMA', () => {
    const t = new VerdictTracker({ threshold: 0.5, alpha: 0.25 });
    t.observe(1, 0.8);
    t.observe(1, 0.4);
    expect(t.smoothedDistance).toBeCloseTo(0.25 * 0.4 + 0.75 * 0.8, 12);
  });

  it('does not flicker inside the hysteresis band', () => {
    const t = new VerdictTracker({ threshold: 0.5, hysteresis: 0.05, alpha: 1, minObservations: 1 });
    expect(feed(t, [0.4, 0.52, 0.49, 0.54, 0.51])).toEqual(Array(5).fill('matched'));
    expect(t.observe(1, 0.56).verdict).toBe('not_matched');
    expect(feed(t, [0.48, 0.46])).toEqual(['not_matched', 'not_matched']);
    expect(t.observe(1, 0.44).verdict).toBe('matched');
  });

  it('ignores one bad frame thanks to smoothing', () => {
    const t = new VerdictTracker({ threshold: 0.5, alpha: 0.3, minObservations: 1 });
    feed(t, [0.3, 0.3, 0.3]);
    expect(t.observe(1, 0.9).verdict).toBe('matched'); // EMA 0.48
  });

  it('reports no_face and multiple_faces only after confirmFrames, and restarts the run', () => {
    const t = new VerdictTracker({ threshold: 0.5, confirmFrames: 2, minObservations: 2 });
    feed(t, [0.3, 0.3]);
    expect(t.observe(0).verdict).toBe('matched');
    expect(t.observe(0)).toMatchObject({ verdict: 'no_face', smoothedDistance: null, changed: true });
    expect(t.observe(1, 0.9).verdict).toBe('pending'); // a face again: checking, 2 frames needed
    expect(t.observe(1, 0.9).verdict).toBe('not_matched');
    t.observe(2);
    expect(t.observe(3).verdict).toBe('multiple_faces');
    t.reset();
    expect(t.verdict).toBe('pending');
  });

  it('validates its inputs', () => {
    expect(() => new VerdictTracker({ threshold: 0 })).toThrow(TypeError);
    expect(() => new VerdictTracker({ threshold: 0.5, hysteresis: 0.6 })).toThrow(TypeError);
    const t = new VerdictTracker({ threshold: 0.5 });
    expect(() => t.observe(1)).toThrow(TypeError);
    expect(() => t.observe(-1)).toThrow(TypeError);
  });
});
