import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_DIR, lfwFile } from '../../../tests/support/shared-data.ts';
import { FaceVerifier } from './face-verifier.ts';

describe('FaceVerifier.verifyPair (the seed Match as a library call)', () => {
  let verifier: FaceVerifier;
  beforeAll(async () => {
    verifier = await FaceVerifier.create({ modelDir: MODEL_DIR, embedder: { intraOpThreads: 1 } });
  });
  afterAll(() => verifier.close());

  it('returns distance, threshold, verdict, similarity and face reports', async () => {
    const a = readFileSync(lfwFile('George_W_Bush', 1));
    const b = readFileSync(lfwFile('Serena_Williams', 1));
    const result = await verifier.verifyPair(a, b);
    expect(result.threshold).toBe(verifier.embedder.manifest.threshold);
    expect(result.distance).toBeGreaterThan(0);
    expect(result.matched).toBe(result.distance <= result.threshold);
    expect(result.similarity).toBeGreaterThanOrEqual(0);
    expect(result.similarity).toBeLessThanOrEqual(1);
    expect(result.faces.a).toMatchObject({ count: 1, width: 250, height: 250 });
    expect(result.faces.a.box!.width).toBeGreaterThan(80);
    expect(result.model).toBe('siamese-v5-int8');
  });

  it('matches an image with itself at distance 0 with high similarity', async () => {
    const a = readFileSync(lfwFile('Colin_Powell', 1));
    const result = await verifier.verifyPair(a, a);
    expect(result.distance).toBeLessThan(1e-5);
    expect(result.matched).toBe(true);
    expect(result.similarity).toBeGreaterThan(0.9);
  });

  it('similarity falls as distance grows', async () => {
    const a = readFileSync(lfwFile('Colin_Powell', 1));
    const same = await verifier.verifyPair(a, readFileSync(lfwFile('Colin_Powell', 2)));
    const other = await verifier.verifyPair(a, readFileSync(lfwFile('Serena_Williams', 3)));
    expect(Math.sign(other.distance - same.distance)).toBe(Math.sign(same.similarity - other.similarity));
  });

  it('refuses an image without a face with NO_FACE, naming the image', async () => {
    const blank = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer();
    await expect(verifier.verifyPair(readFileSync(lfwFile('Colin_Powell', 1)), blank)).rejects.toMatchObject({
      code: 'NO_FACE',
      message: expect.stringMatching(/^Image b:/),
    });
  });

  it('refuses a non-image with a coded error', async () => {
    await expect(verifier.verifyPair(Buffer.from('hello'), Buffer.from('world'))).rejects.toMatchObject({
      code: 'UNSUPPORTED_IMAGE',
    });
  });
});
