import { describe, expect, it } from 'vitest';
import { FACE_PIXELS, FACE_WIDTH } from './preprocess.ts';
import { assessQuality, cropStatistics } from './quality.ts';

const checker = Uint8Array.from({ length: FACE_PIXELS }, (_, i) =>
  ((i % FACE_WIDTH) + Math.floor(i / FACE_WIDTH)) % 2 ? 160 : 80,
);
const flat = (v: number): Uint8Array => new Uint8Array(FACE_PIXELS).fill(v);
const centred = { x: 100, y: 60, width: 120, height: 120 };
const frame = { width: 320, height: 240 };

describe('quality', () => {
  it('measures brightness and sharpness exactly', () => {
    expect(cropStatistics(flat(100))).toEqual({ brightness: 100, sharpness: 0 });
    // Every interior Laplacian of a ±40 checkerboard is ±320.
    expect(cropStatistics(checker).sharpness).toBeCloseTo(320 * 320, 6);
  });

  it('flags nothing for a good face', () => {
    expect(assessQuality(checker, centred, frame)).toEqual([]);
  });

  it('flags dark, bright, blurry, small and off-centre faces', () => {
    expect(assessQuality(flat(20), centred, frame)).toEqual(['too_dark', 'blurry']);
    expect(assessQuality(flat(240), centred, frame)).toEqual(['too_bright', 'blurry']);
    expect(assessQuality(checker, { x: 0, y: 0, width: 40, height: 40 }, frame)).toEqual([
      'too_small',
      'off_centre',
    ]);
  });
});
