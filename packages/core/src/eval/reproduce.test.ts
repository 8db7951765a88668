import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_DIR, lfwDir, sharedDataDir } from '../../../../tests/support/shared-data.ts';
import { extractFaces } from '../cli/extract-pool.ts';
import { parsePairs } from '../lfw/pairs.ts';
import { accuracyAt } from '../metrics.ts';
import { Embedder } from '../model/embedder.ts';
import { embedCrops, pairDistances, pairImageKeys, pipelineSource } from './evaluate.ts';

interface SubsetMetrics {
  accuracy: number;
  pairs: number;
  every: number;
}

describe('the committed model reproduces its manifest numbers', () => {
  let embedder: Embedder;
  beforeAll(async () => {
    embedder = await Embedder.load(MODEL_DIR);
  });
  afterAll(() => embedder.close());

  it('DevTest accuracy on the fixed 200-pair subset (every 5th pair) is within ±2 points', async () => {
    const metrics = embedder.manifest.metrics as Record<string, SubsetMetrics & Record<string, number>>;
    const recorded = metrics['devTestSubset200']!;
    const full = metrics['devTest']!;
    expect(recorded.pairs).toBe(200);

    const list = parsePairs(
      await readFile(path.join(sharedDataDir(), 'lfw-pairs', 'pairsDevTest.txt'), 'utf8'),
    );
    const pairs = list.pairs.filter((_, i) => i % recorded.every === 0);
    expect(pairs).toHaveLength(200);
    const keys = pairImageKeys(pairs);
    const source = pipelineSource(lfwDir(), (files, onResult) =>
      extractFaces(files, { workers: 2, onResult }),
    );
    const crops = await source.crops(keys);
    const data = pairDistances(pairs, await embedCrops(embedder, crops));
    const accuracy = accuracyAt(data, embedder.manifest.threshold);

    expect(Math.abs(accuracy - recorded.accuracy)).toBeLessThanOrEqual(0.02);
    // The subset is a sample of DevTest: it must also agree with the headline figure within
    // sampling error (±3.5 standard errors of 200 Bernoulli trials at ~80%).
    expect(Math.abs(accuracy - full.accuracy)).toBeLessThanOrEqual(0.1);
  });
});
