import { describe, expect, it } from 'vitest';
import { boxTransform, fitSimilarity, squareAround, warpSimilarity } from './chips.ts';

describe('teacher chips', () => {
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
});
