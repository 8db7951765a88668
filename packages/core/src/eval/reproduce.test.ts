import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MODEL_DIRS, lfwDir, sharedDataDir } from '../../../../tests/support/shared-data.ts';
import { extractFaces } from '../cli/extract-pool.ts';
import { parsePairs } from '../lfw/pairs.ts';
import { accuracyAt } from '../metrics.ts';
import { Embedder } from '../model/embedder.ts';
import { embedCrops, pairDistances, pairImageKeys, pipelineSource } from './evaluate.ts';
import type { PreparedCrop } from './prepared-crops.ts';

interface SubsetMetrics {
  accuracy: number;
  pairs: number;
  every: number;
}

describe('the committed models reproduce their manifest numbers', () => {
  const every = 5;
  let pairs: ReturnType<typeof parsePairs>['pairs'];
  let crops: Map<string, PreparedCrop>;
  // One detection pass over the subset's images, shared by every model.
  beforeAll(async () => {
    const list = parsePairs(
      await readFile(path.join(sharedDataDir(), 'lfw-pairs', 'pairsDevTest.txt'), 'utf8'),
    );
    pairs = list.pairs.filter((_, i) => i % every === 0);
    const source = pipelineSource(lfwDir(), (files, onResult) =>
      extractFaces(files, { workers: 2, onResult }),
    );
    crops = await source.crops(pairImageKeys(pairs));
  });

  it.each(MODEL_DIRS)(
    '%s: DevTest accuracy on the fixed 200-pair subset (every 5th pair) is within ±2 points',
    async (dir) => {
      const embedder = await Embedder.load(dir);
      try {
        const metrics = embedder.manifest.metrics as Record<string, SubsetMetrics & Record<string, number>>;
        const recorded = metrics['devTestSubset200']!;
        const full = metrics['devTest']!;
        expect(recorded.pairs).toBe(200);
        expect(recorded.every).toBe(every);
        expect(pairs).toHaveLength(200);
        const data = pairDistances(pairs, await embedCrops(embedder, crops));
        const accuracy = accuracyAt(data, embedder.manifest.threshold);

        expect(Math.abs(accuracy - recorded.accuracy)).toBeLessThanOrEqual(0.02);
        // The subset is a sample of DevTest: it must also agree with the headline figure within
        // sampling error (±3.5 standard errors of 200 Bernoulli trials at ~80%).
        expect(Math.abs(accuracy - full.accuracy)).toBeLessThanOrEqual(0.1);
      } finally {
        await embedder.close();
      }
    },
  );
});
