import { describe, expect, it } from 'vitest';
import {
  applySimilarity,
  boxTransform,
  fitSimilarity,
  meanFaceTemplate,
  similarityScale,
  squareAround,
  templatePoints,
  warpSimilarity,
} from './similarity.ts';

describe('similarity transforms and warps', () => {
  it('fitSimilarity recovers a known rotation, scale and shift', () => {
    const t = { a: 1.2 * Math.cos(0.3), b: 1.2 * Math.sin(0.3), tx: 5, ty: -7 };
    const from = [0, 0, 10, 0, 0, 10, 7, 3, -4, 6];
    const to = from.flatMap((_, i) =>
      i % 2 ? [] : [t.a * from[i]! - t.b * from[i + 1]! + t.tx, t.b * from[i]! + t.a * from[i + 1]! + t.ty],
    );
    const fit = fitSimilarity(from, to);
    expect(fit.a).toBeCloseTo(t.a, 10);
    expect(fit.b).toBeCloseTo(t.b, 10);
    expect(fit.tx).toBeCloseTo(t.tx, 10);
    expect(fit.ty).toBeCloseTo(t.ty, 10);
  });

  it('a box chip of the whole image at the same size reproduces the image, channels replicated', () => {
    const data = Uint8Array.from({ length: 12 }, (_, i) => i * 20);
    const image = { width: 4, height: 3, data };
    const out = warpSimilarity(image, boxTransform({ x: 0, y: 0, width: 4, height: 4 }, 4), 4, 3, 3);
    expect([...out.filter((_, i) => i % 3 === 0)]).toEqual([...data]);
    expect(out[1]).toBe(out[0]);
    expect(squareAround({ x: 10, y: 20, width: 40, height: 40 }, 1.5, 0.1)).toEqual({
      x: 0,
      y: 14,
      width: 60,
      height: 60,
    });
  });

  it('supersampled warps average each output pixel’s footprint (an area filter when shrinking)', () => {
    // A 4×4 checkerboard of 0/200 halved to 2×2: two taps per axis hit the four pixel centres of
    // each output pixel's 2×2 footprint, whose mean is 100.
    const data = Uint8Array.from({ length: 16 }, (_, i) => (((i >> 2) + (i & 3)) % 2 ? 200 : 0));
    const image = { width: 4, height: 4, data };
    const half = { a: 0.5, b: 0, tx: 0, ty: 0 };
    expect([...warpSimilarity(image, half, 2, 2, 1, undefined, 0, 2)]).toEqual([100, 100, 100, 100]);
    // A vertical stripe pattern 0,0,240,240: two taps give the footprint means 0 and 240.
    const stripes = { width: 4, height: 1, data: Uint8Array.from([0, 0, 240, 240]) };
    expect([...warpSimilarity(stripes, half, 2, 1, 1, undefined, 0, 2)]).toEqual([0, 240]);
    expect(similarityScale({ a: 0.3, b: 0.4, tx: 1, ty: 2 })).toBeCloseTo(0.5, 12);
  });

  it('a warp (the separable path unrotated, the interior fast path rotated) gives what tap-by-tap bilinear sampling gives', () => {
    // The definition, one tap at a time: the tap's source point, clamped, bilinear between the four
    // pixels around it; the taps of an output pixel averaged and rounded.
    const direct = (
      image: { width: number; height: number; data: Uint8Array },
      a: number,
      b: number,
      tx: number,
      ty: number,
      w: number,
      h: number,
      n: number,
    ) => {
      const out = new Uint8Array(w * h);
      const [maxX, maxY] = [image.width - 1, image.height - 1];
      const at = (x: number, y: number) => image.data[y * image.width + x]!;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          let sum = 0;
          for (let sy = 0; sy < n; sy++) {
            for (let sx = 0; sx < n; sx++) {
              const [ox, oy] = [x + (sx + 0.5) / n - tx, y + (sy + 0.5) / n - ty];
              const det = a * a + b * b;
              const px = Math.min(maxX, Math.max(0, (a * ox + b * oy) / det - 0.5));
              const py = Math.min(maxY, Math.max(0, (a * oy - b * ox) / det - 0.5));
              const [x0, y0] = [Math.floor(px), Math.floor(py)];
              const [x1, y1] = [Math.min(x0 + 1, maxX), Math.min(y0 + 1, maxY)];
              const [fx, fy] = [px - x0, py - y0];
              sum +=
                (at(x0, y0) * (1 - fx) + at(x1, y0) * fx) * (1 - fy) +
                (at(x0, y1) * (1 - fx) + at(x1, y1) * fx) * fy;
            }
          }
          out[y * w + x] = Math.round(sum / (n * n));
        }
      }
      return out;
    };
    let seed = 3;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    let differing = 0;
    let total = 0;
    for (let trial = 0; trial < 80; trial++) {
      const image = {
        width: 9 + Math.floor(random() * 120),
        height: 9 + Math.floor(random() * 120),
        data: new Uint8Array(0),
      };
      image.data = Uint8Array.from({ length: image.width * image.height }, () => Math.floor(random() * 256));
      const [scale, tx, ty] = [0.2 + random() * 1.5, (random() - 0.5) * 60, (random() - 0.5) * 60];
      // Every other trial rotated (up to ±0.4 rad), so both the clamped taps at the edges and the
      // branch-free interior ones are compared.
      const angle = trial % 2 === 0 ? 0 : (random() - 0.5) * 0.8;
      const [a, b] = [scale * Math.cos(angle), scale * Math.sin(angle)];
      const [w, h, n] = [
        1 + Math.floor(random() * 40),
        1 + Math.floor(random() * 40),
        1 + Math.floor(random() * 4),
      ];
      const fast = warpSimilarity(image, { a, b, tx, ty }, w, h, 1, undefined, 0, n);
      const slow = direct(image, a, b, tx, ty, w, h, n);
      for (let i = 0; i < fast.length; i++) {
        expect(Math.abs(fast[i]! - slow[i]!)).toBeLessThanOrEqual(1); // rounding of an exact .5 only
        if (fast[i] !== slow[i]) differing++;
        total++;
      }
    }
    expect(differing / total).toBeLessThan(0.001);
  });

  it('applySimilarity and the mean-face template', () => {
    const t = { a: 0, b: 2, tx: 1, ty: -1 }; // rotate 90°, scale 2, shift
    expect([...applySimilarity(t, [1, 0, 0, 1])]).toEqual([1, 1, -1, -1]);
    const template = meanFaceTemplate(10, 1, 2);
    expect(template).toHaveLength(102);
    // Point 17 (left brow end) of dlib's mean face: (0.000213256, 0.106454).
    expect(template[0]).toBeCloseTo(1.00213256, 8);
    expect(template[1]).toBeCloseTo(3.06454, 8);
    const lm68 = Float64Array.from({ length: 136 }, (_, i) => i);
    expect(templatePoints(lm68)[0]).toBe(34);
    expect(templatePoints(lm68)[101]).toBe(135);
    // The rigid subset (nose and eyes, 27–47): point 27 of the mean face is (0.490127, 0.203352).
    expect([...templatePoints(lm68, 27, 47)].slice(0, 2)).toEqual([54, 55]);
    expect(meanFaceTemplate(1, 0, 0, 27, 47)).toHaveLength(42);
    expect(meanFaceTemplate(1, 0, 0, 27, 47)[1]).toBeCloseTo(0.203352, 8);
    expect(() => meanFaceTemplate(1, 0, 0, 0, 47)).toThrow(RangeError);
  });
});
