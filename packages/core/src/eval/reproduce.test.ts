import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MODEL_DIRS, lfwDir, sharedDataDir } from '../../../../tests/support/shared-data.ts';
import { extractFaces } from '../cli/extract-pool.ts';
import { cropChoiceOf } from '../cli/face-source.ts';
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
  // One detection pass over the subset's images per way of cutting crops (box, or a model's
  // alignment), shared by the models that cut them alike.
  const cropsBySpec = new Map<string, Promise<Map<string, PreparedCrop>>>();
  const cropsFor = async (dir: string): Promise<Map<string, PreparedCrop>> => {
    const align = await cropChoiceOf(dir);
    const key = JSON.stringify(align?.spec ?? 'box');
    let crops = cropsBySpec.get(key);
    if (crops === undefined) {
      const source = pipelineSource(lfwDir(), (files, onResult) =>
        extractFaces(files, { workers: 2, align, onResult }),
      );
      crops = source.crops(pairImageKeys(pairs));
      cropsBySpec.set(key, crops);
    }
    return crops;
  };
  beforeAll(async () => {
    const list = parsePairs(
      await readFile(path.join(sharedDataDir(), 'lfw-pairs', 'pairsDevTest.txt'), 'utf8'),
    );
    pairs = list.pairs.filter((_, i) => i % every === 0);
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
        const data = pairDistances(pairs, await embedCrops(embedder, await cropsFor(dir)));
        const accuracy = accuracyAt(data, embedder.manifest.threshold);

        expect(Math.abs(accuracy - recorded.accuracy)).toBeLessThanOrEqual(0.02);
        // The subset is a sample of DevTest: it must also agree with the headline figure within
        // sampling error (±3.5 standard errors of 200 Bernoulli trials at ~80%).
        expect(Math.abs(accuracy - full.accuracy)).toBeLessThanOrEqual(0.1);
      } finally {
        await embedder.close();
      }
    },
    // The first model of each crop kind runs detection over the subset's 386 images.
    180_000,
  );
});
