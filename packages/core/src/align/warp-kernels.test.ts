import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { warpSimilarity } from './similarity.ts';

/**
 * Seeded warps over both kernels: unrotated and rotated, 1–4 taps per axis, 1 or 3 channels, an
 * offset into a larger output, transforms reaching past every edge, images of 1 to 150 pixels a side.
 */
export function sampleWarps(count: number, seed: number): Uint8Array[] {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const outputs: Uint8Array[] = [];
  for (let n = 0; n < count; n++) {
    const width = 1 + Math.floor(random() * 150);
    const height = 1 + Math.floor(random() * 150);
    const data = Uint8Array.from({ length: width * height }, () => Math.floor(random() * 256));
    const scale = 0.1 + random() * 2;
    const angle = n % 2 === 0 ? 0 : (random() - 0.5) * 0.8;
    const t = {
      a: scale * Math.cos(angle),
      b: scale * Math.sin(angle),
      tx: (random() - 0.5) * width,
      ty: (random() - 0.5) * height,
    };
    const [w, h, samples] = [1 + Math.floor(random() * 80), 1 + Math.floor(random() * 80), 1 + (n % 4)];
    const channels = n % 5 === 0 ? 3 : 1;
    const offset = n % 3 === 0 ? 7 : 0;
    const out = new Uint8Array(offset + w * h * channels + 5);
    outputs.push(warpSimilarity({ width, height, data }, t, w, h, channels, out, offset, samples));
  }
  return outputs;
}

describe('warp kernels (WebAssembly)', () => {
  it('warps give, byte for byte, what the TypeScript loops they replaced gave', () => {
    // The digest of these 600 warps' outputs under the TypeScript implementation of commit c2965f9
    // (the served model's crops and landmark chips were cut by it; its DevTest figures hold only as
    // long as this does).
    const hash = createHash('sha256');
    for (const out of sampleWarps(600, 20261206)) hash.update(out);
    expect(hash.digest('hex')).toBe(GOLDEN);
  });

  it('refuses a degenerate transform, bad tap counts and an empty image with a RangeError', () => {
    const image = { width: 4, height: 4, data: new Uint8Array(16) };
    expect(() => warpSimilarity(image, { a: 0, b: 0, tx: 0, ty: 0 }, 2, 2)).toThrow(RangeError);
    expect(() => warpSimilarity(image, { a: Number.NaN, b: 0, tx: 0, ty: 0 }, 2, 2)).toThrow(RangeError);
    expect(() => warpSimilarity(image, { a: 1, b: 0, tx: Infinity, ty: 0 }, 2, 2)).toThrow(RangeError);
    expect(() => warpSimilarity(image, { a: 1, b: 0, tx: 0, ty: 0 }, 2, 2, 1, undefined, 0, 0)).toThrow(
      RangeError,
    );
    expect(() => warpSimilarity(image, { a: 1, b: 0, tx: 0, ty: 0 }, 2, 2, 0)).toThrow(RangeError);
    const empty = { width: 0, height: 0, data: new Uint8Array(0) };
    expect(() => warpSimilarity(empty, { a: 1, b: 0, tx: 0, ty: 0 }, 2, 2)).toThrow(RangeError);
    // Nothing to write is not an error.
    expect(warpSimilarity(image, { a: 1, b: 0, tx: 0, ty: 0 }, 0, 3)).toHaveLength(0);
  });

  it('a large image costs the kernels only the rows a warp reaches', () => {
    const width = 4000;
    const height = 3000;
    const image = { width, height, data: new Uint8Array(width * height).fill(90) };
    // A 62×47 crop of a 200 px face near the top: a few hundred rows, not 12 MB.
    const t = { a: 47 / 200, b: 0.01, tx: -100 * (47 / 200), ty: -50 * (47 / 200) };
    const crop = warpSimilarity(image, t, 47, 62, 1, undefined, 0, 4);
    expect(crop.every((v) => v === 90)).toBe(true);
  });
});

const GOLDEN = 'd5c291b3730ec6d6e085a30b12aad3f7a5bc1a9a8697ee41df88dac88e6f455e';
