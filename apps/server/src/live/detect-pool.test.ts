import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  FaceAligner,
  FaceTracker,
  HaarDetector,
  analyseFrame,
  defaultAlignedCrop,
  extractFace,
  parseY4m,
} from '@fv/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, sharedDataDir } from '../../../../tests/support/shared-data.ts';
import { DetectPool } from './detect-pool.ts';

const clip = parseY4m(readFileSync(path.join(sharedDataDir(), 'video', 'person-b_320x240_3s.y4m')));

describe('DetectPool (detection on worker threads)', () => {
  let pool: DetectPool;
  let detector: HaarDetector;
  beforeAll(async () => {
    [pool, detector] = await Promise.all([DetectPool.create(2), HaarDetector.create()]);
  });
  afterAll(async () => {
    await pool.close();
    detector.close();
  });

  it('gives the same faces and crops as detection on the main thread, per stream', async () => {
    const tracker = new FaceTracker(detector);
    for (const frame of clip.frames.slice(0, 8)) {
      const local = extractFace(tracker, frame)!;
      const remote = await pool.detect('stream-1', { ...frame, data: new Uint8Array(frame.data) });
      expect(remote.faceCount).toBe(local.faceCount);
      expect(remote.box).toEqual(local.box);
      expect(Buffer.compare(Buffer.from(remote.crop!), Buffer.from(local.crop))).toBe(0);
    }
    pool.release('stream-1');
    pool.release('stream-1');
  });

  it('cuts the aligned crops a model that takes them needs, as the main thread would', async () => {
    const modelDir = path.join(REPO_ROOT, 'models', 'siamese-v5-int8');
    const sha = createHash('sha256')
      .update(readFileSync(path.join(modelDir, 'landmarks.onnx')))
      .digest('hex');
    const spec = defaultAlignedCrop('landmarks.onnx', sha);
    const [aligned, aligner] = await Promise.all([
      DetectPool.create(1, {}, { modelDir, spec }),
      FaceAligner.load(modelDir, spec),
    ]);
    try {
      const tracker = new FaceTracker(detector);
      for (const frame of clip.frames.slice(0, 4)) {
        const local = await analyseFrame(frame, tracker, aligner);
        const remote = await aligned.detect('s', { ...frame, data: new Uint8Array(frame.data) });
        expect(remote.box).toEqual(local.box);
        expect(Buffer.compare(Buffer.from(remote.crop!), Buffer.from(local.crop!))).toBe(0);
        expect(remote.features).toEqual(local.features);
        const boxCrop = extractFace(new FaceTracker(detector), frame)!.crop;
        expect(Buffer.compare(Buffer.from(remote.crop!), Buffer.from(boxCrop))).not.toBe(0);
      }
    } finally {
      await Promise.all([aligned.close(), aligner.close()]);
    }
  });

  it('serves several streams at once and reports a frame without a face', async () => {
    const blank = { width: 160, height: 120, data: new Uint8Array(160 * 120).fill(50) };
    const results = await Promise.all([
      pool.detect('a', { ...clip.frames[0]!, data: new Uint8Array(clip.frames[0]!.data) }),
      pool.detect('b', blank),
      pool.detect('c', { ...clip.frames[1]!, data: new Uint8Array(clip.frames[1]!.data) }),
    ]);
    expect(results.map((r) => r.faceCount)).toEqual([1, 0, 1]);
    expect(results[1]).toMatchObject({ box: null, crop: null });
  });

  it('rejects work after close(), which is idempotent', async () => {
    const p = await DetectPool.create(1);
    await p.close();
    await p.close();
    await expect(p.detect('x', clip.frames[0]!)).rejects.toThrow(/closed/);
  });
});
