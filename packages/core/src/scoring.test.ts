import { describe, expect, it } from 'vitest';
import { euclideanDistance, fitLogisticCalibration, isMatch, similarityFromDistance } from './scoring.ts';

describe('euclideanDistance', () => {
  it('computes the L2 distance exactly', () => {
    expect(euclideanDistance([0, 0], [3, 4])).toBe(5);
    expect(euclideanDistance(new Float32Array([1, 2, 3]), new Float32Array([1, 2, 3]))).toBe(0);
    expect(euclideanDistance([1, 0], [0, 1])).toBeCloseTo(Math.SQRT2, 15);
  });
  it('rejects mismatched or empty vectors', () => {
    expect(() => euclideanDistance([1, 2], [1])).toThrow(TypeError);
    expect(() => euclideanDistance([], [])).toThrow(TypeError);
  });
});

describe('isMatch', () => {
  it('matches at or below the threshold, as the seed does', () => {
    expect(isMatch(0.4, 0.4)).toBe(true);
    expect(isMatch(0.39, 0.4)).toBe(true);
    expect(isMatch(0.41, 0.4)).toBe(false);
  });
});

describe('similarityFromDistance', () => {
  const cal = { type: 'logistic', slope: -10, intercept: 5 } as const;
  it('is 0.5 where intercept + slope·d = 0 and monotone decreasing', () => {
    expect(similarityFromDistance(0.5, cal)).toBe(0.5);
    expect(similarityFromDistance(0, cal)).toBeCloseTo(1 / (1 + Math.exp(-5)), 15);
    expect(similarityFromDistance(1, cal)).toBeCloseTo(1 / (1 + Math.exp(5)), 15);
    expect(similarityFromDistance(0.2, cal)).toBeGreaterThan(similarityFromDistance(0.3, cal));
  });
  it('stays within [0, 1] for extreme inputs', () => {
    expect(similarityFromDistance(1e6, cal)).toBe(0);
    expect(similarityFromDistance(0, { type: 'logistic', slope: -1, intercept: 1e6 })).toBe(1);
  });
  it('rejects negative or non-finite distances', () => {
    expect(() => similarityFromDistance(-1, cal)).toThrow(TypeError);
    expect(() => similarityFromDistance(Number.NaN, cal)).toThrow(TypeError);
  });
});

describe('fitLogisticCalibration', () => {
  it('recovers the parameters that generated the labels', () => {
    // Deterministic "sampling": label frequencies follow the true curve exactly on a grid.
    const slope = -8;
    const intercept = 4;
    const distances: number[] = [];
    const same: boolean[] = [];
    for (let i = 0; i <= 100; i++) {
      const d = i / 100;
      const p = 1 / (1 + Math.exp(-(intercept + slope * d)));
      const positives = Math.round(p * 1000);
      for (let k = 0; k < 1000; k++) {
        distances.push(d);
        same.push(k < positives);
      }
    }
    const fit = fitLogisticCalibration(distances, same);
    expect(fit.slope).toBeCloseTo(slope, 1);
    expect(fit.intercept).toBeCloseTo(intercept, 1);
  });
  it('needs both classes', () => {
    expect(() => fitLogisticCalibration([0.1, 0.2], [true, true])).toThrow(TypeError);
  });
});
