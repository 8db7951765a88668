import { describe, expect, it } from 'vitest';
import { padImage, resampleRegion, type GrayImage } from './gray-image.ts';
import {
  FACE_HEIGHT,
  FACE_PIXELS,
  FACE_WIDTH,
  cropFace,
  faceCropRegion,
  fallbackFaceBox,
  normalizeCrop,
} from './preprocess.ts';

const ramp = (width: number, height: number): GrayImage => ({
  width,
  height,
  data: Uint8Array.from({ length: width * height }, (_, i) => (i % width) * 10),
});

describe('resampleRegion', () => {
  it('is the identity at scale 1', () => {
    const img = ramp(5, 4);
    expect(resampleRegion(img, { x: 0, y: 0, width: 5, height: 4 }, 5, 4)).toEqual(img.data);
  });
  it('averages areas exactly when shrinking by 2', () => {
    const img = { width: 4, height: 2, data: Uint8Array.from([0, 10, 20, 30, 0, 10, 20, 30]) };
    expect([...resampleRegion(img, { x: 0, y: 0, width: 4, height: 2 }, 2, 1)]).toEqual([5, 25]);
  });
  it('weights fractional pixels', () => {
    const img = { width: 3, height: 1, data: Uint8Array.from([0, 90, 180]) };
    // Output pixel 0 covers source [0, 1.5): (0·1 + 90·0.5) / 1.5 = 30.
    expect([...resampleRegion(img, { x: 0, y: 0, width: 3, height: 1 }, 2, 1)]).toEqual([30, 150]);
  });
  it('repeats the edge outside the image', () => {
    const img = ramp(3, 1);
    expect([...resampleRegion(img, { x: -2, y: 0, width: 2, height: 1 }, 2, 1)]).toEqual([0, 0]);
    expect([...resampleRegion(img, { x: 3, y: 0, width: 2, height: 1 }, 2, 1)]).toEqual([20, 20]);
  });
});

describe('padImage', () => {
  it('centres the image on a filled canvas', () => {
    const { image, offsetX, offsetY } = padImage(
      { width: 2, height: 1, data: Uint8Array.from([1, 2]) },
      0.5,
      7,
    );
    expect([image.width, image.height, offsetX, offsetY]).toEqual([4, 3, 1, 1]);
    expect([...image.data]).toEqual([7, 7, 7, 7, 7, 1, 2, 7, 7, 7, 7, 7]);
  });
});

describe('face crop', () => {
  it('keeps the model aspect (62:47) around the box', () => {
    const r = faceCropRegion({ x: 65, y: 65, width: 120, height: 120 });
    expect(r.width / r.height).toBeCloseTo(FACE_WIDTH / FACE_HEIGHT, 12);
    expect(r.x + r.width / 2).toBeCloseTo(125, 12);
    expect(r.width).toBeCloseTo(93.6, 12);
  });
  it('lands on the classic LFW region for a median LFW detection', () => {
    const r = faceCropRegion({ x: 65.8, y: 66.6, width: 120, height: 120 });
    expect(Math.abs(r.x - 78)).toBeLessThan(3);
    expect(Math.abs(r.y - 70)).toBeLessThan(3);
    expect(Math.abs(r.y + r.height - 195)).toBeLessThan(3);
  });
  it('falls back to a centred box', () => {
    expect(fallbackFaceBox({ width: 250, height: 250 })).toEqual({ x: 65, y: 65, width: 120, height: 120 });
  });
  it('produces 62×47 bytes and normalises by /255', () => {
    const crop = cropFace(ramp(250, 250), { x: 65, y: 65, width: 120, height: 120 });
    expect(crop.length).toBe(FACE_PIXELS);
    const input = normalizeCrop(crop);
    expect(input[0]).toBeCloseTo(crop[0]! / 255, 7);
    expect(Math.max(...input)).toBeLessThanOrEqual(1);
    expect(() => normalizeCrop(new Uint8Array(10))).toThrow(TypeError);
  });
});
