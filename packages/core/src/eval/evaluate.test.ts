import { describe, expect, it } from 'vitest';
import { crossValidate, type PairDistances } from './evaluate.ts';

// Three folds of four pairs (two same, two different). "Fold model" k scores its own fold's pairs
// at 0.2 (same) / 0.8 (different) and every other fold's 0.7 further out (the people it trained on
// look different to it), so a threshold chosen on the other folds (between 0.91 and 1.5) accepts
// all of fold k's pairs, where one chosen on fold k itself would separate them.
const FOLDS = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2];
const SAME = FOLDS.map((_, i) => i % 4 < 2);
const model = (k: number): PairDistances => ({
  distances: Float64Array.from(FOLDS, (f, i) => (SAME[i] ? 0.2 : 0.8) + (f === k ? 0 : 0.7) + 0.01 * (i % 2)),
  same: SAME,
  folds: FOLDS,
});

describe('crossValidate', () => {
  it("tests each fold with its own model at a threshold chosen on that model's other folds", () => {
    const report = crossValidate([0, 1, 2], model);
    expect(report.folds.map((r) => r.pairs)).toEqual([4, 4, 4]);
    expect(report.folds.map((r) => r.accuracy)).toEqual([0.5, 0.5, 0.5]);
    for (const fold of report.folds) {
      expect(fold.threshold).toBeGreaterThanOrEqual(0.91);
      expect(fold.threshold).toBeLessThan(1.5);
    }
    expect(report.mean.pairs).toBe(12);
  });

  it('reports a subset of folds exactly as the full run reports them', () => {
    const full = crossValidate([0, 1, 2], model);
    const calls: number[] = [];
    const subset = crossValidate([0, 2], (k) => {
      calls.push(k);
      return model(k);
    });
    expect(calls).toEqual([0, 2]);
    expect(subset.folds).toEqual([full.folds[0], full.folds[2]]);
    expect(subset.mean.pairs).toBe(8);
    expect(subset.mean.threshold).toBeCloseTo((full.folds[0]!.threshold + full.folds[2]!.threshold) / 2, 12);
  });

  it('measures every fold at a fixed threshold when one is given', () => {
    // 0.5 separates each fold's own pairs; 0.1 accepts nothing, so only the different pairs count.
    expect(crossValidate([0, 1, 2], model, 0.5).mean.accuracy).toBe(1);
    expect(crossValidate([0, 1, 2], model, 0.1).folds.map((r) => r.accuracy)).toEqual([0.5, 0.5, 0.5]);
  });
});
