import { describe, expect, it } from 'vitest';
import { fitThresholdSimilarity, type ThresholdSample } from './threshold-similarity.ts';

// similarity = sigmoid(a + b·distance), as the server calibrates it (b < 0: closer is more similar).
const A = 6;
const B = -7;
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const reading = (distance: number, threshold = 0.9) => ({
  smoothedDistance: distance,
  similarity: sigmoid(A + B * distance),
  threshold,
});

describe('fitThresholdSimilarity', () => {
  it('two readings at different distances give the threshold in similarity space', () => {
    const first = fitThresholdSimilarity(null, reading(0.5));
    expect(first.similarity).toBeNull();
    expect(first.sample).not.toBeNull();
    const second = fitThresholdSimilarity(first.sample, reading(0.8));
    expect(second.similarity).toBeCloseTo(sigmoid(A + B * 0.9), 10);
    // The first reading stays the anchor.
    expect(second.sample).toBe(first.sample);
  });

  it('readings too close together, or without a similarity, give no estimate and keep the sample', () => {
    const { sample } = fitThresholdSimilarity(null, reading(0.5));
    expect(fitThresholdSimilarity(sample, reading(0.501))).toEqual({ sample, similarity: null });
    const noSimilarity = { smoothedDistance: 0.7, similarity: null, threshold: 0.9 };
    expect(fitThresholdSimilarity(sample, noSimilarity)).toEqual({ sample, similarity: null });
    const saturated = { smoothedDistance: 0.7, similarity: 1, threshold: 0.9 };
    expect(fitThresholdSimilarity(sample, saturated)).toEqual({ sample, similarity: null });
    const noDistance = { smoothedDistance: null, similarity: 0.5, threshold: 0.9 };
    expect(fitThresholdSimilarity(null, noDistance)).toEqual({ sample: null, similarity: null });
  });

  it('a new threshold starts a new sample', () => {
    const { sample } = fitThresholdSimilarity(null, reading(0.5, 0.9));
    const next = fitThresholdSimilarity(sample, reading(0.8, 1.0));
    expect(next.similarity).toBeNull();
    expect(next.sample).toMatchObject({ distance: 0.8, threshold: 1.0 });
  });

  it('a similarity that rises with distance (not the calibration) gives no estimate', () => {
    const sample: ThresholdSample = { distance: 0.5, logit: -1, threshold: 0.9 };
    expect(fitThresholdSimilarity(sample, reading(0.8)).similarity).toBeNull();
  });
});
