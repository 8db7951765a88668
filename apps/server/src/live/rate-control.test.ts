import { describe, expect, it } from 'vitest';
import { CATCH_UP_BELOW, RateShare, nextRate, type RateState } from './rate-control.ts';

const base: RateState = {
  fps: 10,
  requestedFps: 10,
  minFps: 2,
  latencyEma: 100,
  targetLatencyMs: 150,
  othersMedianFps: null,
};

describe('nextRate', () => {
  it('steps down while latency is over target, never below the floor', () => {
    expect(nextRate({ ...base, latencyEma: 200 })).toEqual({
      fps: 7,
      reason: 'frame→score 200 ms is over 150 ms: analysing 7 fps',
    });
    expect(nextRate({ ...base, fps: 2.5, latencyEma: 200 })?.fps).toBe(2);
    expect(nextRate({ ...base, fps: 2, latencyEma: 900 })).toBeNull();
  });

  it('climbs back to the requested rate once latency is well under target', () => {
    expect(nextRate({ ...base, fps: 4, latencyEma: 40 })).toEqual({
      fps: 5,
      reason: 'recovering: analysing 5 fps',
    });
    expect(nextRate({ ...base, fps: 9, latencyEma: 40 })).toEqual({
      fps: 10,
      reason: 'recovered: analysing 10 fps',
    });
    expect(nextRate({ ...base, latencyEma: 40 })).toBeNull();
  });

  it('holds in the band between a third of the target and the target', () => {
    expect(nextRate({ ...base, fps: 4, latencyEma: 100 })).toBeNull();
  });

  it('lets a session left behind the others climb towards their median, and no further', () => {
    const behind = { ...base, fps: 2.8, latencyEma: 100, othersMedianFps: 7 };
    expect(nextRate(behind)).toEqual({
      fps: 3.5,
      reason: "recovering towards the other sessions' 7 fps: analysing 3.5 fps",
    });
    // Capped by the median and by the request.
    expect(nextRate({ ...behind, fps: 5.5, othersMedianFps: 7.2 })?.fps).toBe(6.9);
    expect(nextRate({ ...behind, fps: 5.5, othersMedianFps: 7.2, requestedFps: 6 })?.fps).toBe(6);
    // Close enough to the median, over target, at the request, or alone: no catching up.
    expect(nextRate({ ...behind, fps: CATCH_UP_BELOW * 7 })).toBeNull();
    expect(nextRate({ ...behind, latencyEma: 151 })?.fps).toBe(2);
    expect(nextRate({ ...behind, requestedFps: 2.8 })).toBeNull();
    expect(nextRate({ ...behind, othersMedianFps: null })).toBeNull();
  });

  it('brings sessions that stepped down a different number of times back together', () => {
    // Five sessions in the band where neither the overload nor the recovery rule moves them: left
    // to the multiplicative rules, 10 × 0.7^k keeps them apart for good.
    const rates = [10, 7, 4.9, 3.4, 2.4];
    const share = new RateShare();
    const ids = rates.map(() => ({}));
    ids.forEach((id, i) => share.set(id, rates[i]!));
    for (let step = 0; step < 20; step++) {
      ids.forEach((id, i) => {
        const change = nextRate({
          ...base,
          fps: rates[i]!,
          latencyEma: 100,
          othersMedianFps: share.medianExcept(id),
        });
        if (change) {
          rates[i] = change.fps;
          share.set(id, change.fps);
        }
      });
    }
    const sorted = [...rates].sort((a, b) => a - b);
    const median = sorted[2]!;
    for (const r of rates) expect(r).toBeGreaterThanOrEqual(CATCH_UP_BELOW * median - 0.1);
    // Nobody was pushed past the rates that were already there (the band does not add load).
    expect(Math.max(...rates)).toBe(10);
  });
});

describe('RateShare', () => {
  it('gives the median of the other members only', () => {
    const share = new RateShare();
    const [a, b, c, d] = [{}, {}, {}, {}];
    expect(share.medianExcept(a)).toBeNull();
    share.set(a, 10);
    expect(share.medianExcept(a)).toBeNull();
    share.set(b, 4);
    share.set(c, 6);
    expect(share.medianExcept(a)).toBe(5);
    expect(share.medianExcept(b)).toBe(8);
    share.set(d, 2);
    expect(share.medianExcept(d)).toBe(6);
    share.set(d, 7);
    expect(share.medianExcept(a)).toBe(6);
    share.delete(c);
    expect(share.size).toBe(3);
    expect(share.medianExcept(a)).toBe(5.5);
  });
});
