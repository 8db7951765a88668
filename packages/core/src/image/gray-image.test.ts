import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resampleRegion } from './gray-image.ts';

describe('resampleRegion', () => {
  it('gives, byte for byte, what the TypeScript loops it replaced gave', () => {
    // 600 seeded resamples (regions past every edge, shrinking and enlarging, fractional and whole
    // pixel bounds) hash to the digest the TypeScript implementation of commit d9afa3e gave: the
    // detector's scaled copies and the box crops, hence every detection and the evaluation
    // protocol's figures, stay as they were.
    let state = 20261206;
    const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
    const hash = createHash('sha256');
    for (let n = 0; n < 600; n++) {
      const width = 1 + Math.floor(random() * 200);
      const height = 1 + Math.floor(random() * 200);
      const data = Uint8Array.from({ length: width * height }, () => Math.floor(random() * 256));
      const region = {
        x: (random() - 0.3) * width,
        y: (random() - 0.3) * height,
        width: 0.5 + random() * width * 1.2,
        height: 0.5 + random() * height * 1.2,
      };
      const [w, h] = [1 + Math.floor(random() * 100), 1 + Math.floor(random() * 100)];
      hash.update(resampleRegion({ width, height, data }, region, w, h));
    }
    expect(hash.digest('hex')).toBe('0eeaa9afc1744462ed9f5530f0d5ed06ccd047de0e739e636d583aff142e1181');
  });

  it('refuses a non-finite region and a non-positive or fractional output size', () => {
    const image = { width: 4, height: 4, data: new Uint8Array(16) };
    expect(() => resampleRegion(image, { x: Number.NaN, y: 0, width: 2, height: 2 }, 2, 2)).toThrow(
      TypeError,
    );
    expect(() => resampleRegion(image, { x: 0, y: 0, width: Infinity, height: 2 }, 2, 2)).toThrow(TypeError);
    expect(() => resampleRegion(image, { x: 0, y: 0, width: 2, height: 2 }, 0, 2)).toThrow(TypeError);
    expect(() => resampleRegion(image, { x: 0, y: 0, width: 2, height: 2 }, 2, 1.5)).toThrow(TypeError);
  });
});
