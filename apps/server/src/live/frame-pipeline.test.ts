import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_MODEL_DIR, FaceVerifier, parseY4m, type BatchReport } from '@fv/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedDataDir } from '../../../../tests/support/shared-data.ts';
import { FramePipeline } from './frame-pipeline.ts';

const clip = parseY4m(readFileSync(path.join(sharedDataDir(), 'video', 'person-a_320x240_3s.y4m')));
/** Far longer than any test here may take: a crop that waited for it would time the test out. */
const LONG_WAIT_MS = 600_000;

describe('FramePipeline batching', () => {
  let verifier: FaceVerifier;
  beforeAll(async () => {
    verifier = await FaceVerifier.create({ modelDir: DEFAULT_MODEL_DIR });
  });
  afterAll(() => verifier.close());

  it('embeds a crop at once when no other frame is in detection, and batches those that are', async () => {
    const pipeline = new FramePipeline(
      verifier.detector,
      verifier.embedder,
      { maxBatch: 8, maxWaitMs: LONG_WAIT_MS },
      null,
      verifier.aligner,
    );
    const batches: BatchReport[] = [];
    pipeline.onBatch((report) => batches.push(report));
    const streams = [pipeline.openStream(), pipeline.openStream()];
    try {
      // One stream alone: nothing else can join its crop, so it does not wait maxWaitMs for company.
      const lone = await streams[0]!.analyse(clip.frames[0]!);
      expect(lone.faceCount).toBe(1);
      expect(lone.embedding).toHaveLength(48);
      expect(batches.map((b) => b.size)).toEqual([1]);
      expect(batches[0]!.waitMs).toBeLessThan(LONG_WAIT_MS / 2);

      // Two streams' frames in detection together: the first crop waits for the second, not for maxWaitMs.
      const both = await Promise.all(streams.map((s, i) => s.analyse(clip.frames[1 + i]!)));
      expect(both.map((a) => a.embedding?.length)).toEqual([48, 48]);
      expect(batches.map((b) => b.size)).toEqual([1, 2]);
    } finally {
      for (const s of streams) s.close();
      await pipeline.close();
    }
  });
});
