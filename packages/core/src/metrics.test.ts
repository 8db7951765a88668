import { describe, expect, it } from 'vitest';
import { accuracyAt, auc, bestThreshold, equalErrorRate, rocCurve, summarize, tarAtFar } from './metrics.ts';

const data = {
  distances: [0.1, 0.2, 0.3, 0.5, 0.4, 0.6, 0.7, 0.8],
  same: [true, true, true, true, false, false, false, false],
};

describe('metrics', () => {
  it('accuracyAt counts d ≤ t as a match', () => {
    expect(accuracyAt(data, 0.3)).toBe(7 / 8);
    expect(accuracyAt(data, 0.5)).toBe(7 / 8);
    expect(accuracyAt(data, 0)).toBe(0.5);
  });

  it('bestThreshold picks a midpoint with the best accuracy', () => {
    const best = bestThreshold(data);
    expect(best.accuracy).toBe(7 / 8);
    expect(accuracyAt(data, best.threshold)).toBe(7 / 8);
  });

  it('bestThreshold separates perfectly separable data in the gap', () => {
    const best = bestThreshold({ distances: [0.1, 0.2, 0.9, 1.0], same: [true, true, false, false] });
    expect(best).toEqual({ threshold: 0.55, accuracy: 1 });
  });

  it('ROC, AUC, EER and TAR@FAR match hand-computed values', () => {
    const roc = rocCurve(data);
    expect(roc[0]).toEqual({ far: 0, tar: 0, threshold: -Infinity });
    expect(roc.at(-1)).toMatchObject({ far: 1, tar: 1 });
    // One inversion (0.5 matched vs 0.4 mismatched) among 16 pairs: AUC = 15/16.
    expect(auc(roc)).toBeCloseTo(15 / 16, 12);
    expect(equalErrorRate(roc)).toBeCloseTo(0.25, 12);
    expect(tarAtFar(roc, 0)).toBe(0.75);
    expect(tarAtFar(roc, 0.25)).toBe(1);
  });

  it('summarize reports every headline number', () => {
    const s = summarize(data, 0.35);
    expect(s).toMatchObject({
      accuracy: 7 / 8,
      pairs: 8,
      threshold: 0.35,
      tarAtFar1e2: 0.75,
      tarAtFar1e3: 0.75,
    });
  });

  it('rejects empty or mismatched input', () => {
    expect(() => accuracyAt({ distances: [], same: [] }, 1)).toThrow(TypeError);
    expect(() => rocCurve({ distances: [1], same: [true] })).toThrow(TypeError);
  });
});
