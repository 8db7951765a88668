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
  it('is the area average of its definition (weights of the covered fraction of each pixel)', () => {
    // Tap by tap: the fraction of each source pixel (edges repeated) inside the output pixel.
    const direct = (
      img: GrayImage,
      r: { x: number; y: number; width: number; height: number },
      ow: number,
      oh: number,
    ) => {
      const out = new Uint8Array(ow * oh);
      const [sx, sy] = [r.width / ow, r.height / oh];
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          const [x0, y0] = [r.x + ox * sx, r.y + oy * sy];
          let [sum, area] = [0, 0];
          for (let y = Math.floor(y0); y < y0 + sy; y++) {
            const wy = Math.min(y + 1, y0 + sy) - Math.max(y, y0);
            for (let x = Math.floor(x0); x < x0 + sx; x++) {
              const wx = Math.min(x + 1, x0 + sx) - Math.max(x, x0);
              const v =
                img.data[
                  Math.min(img.height - 1, Math.max(0, y)) * img.width +
                    Math.min(img.width - 1, Math.max(0, x))
                ]!;
              sum += v * wx * wy;
              area += wx * wy;
            }
          }
          out[oy * ow + ox] = Math.round(sum / area);
        }
      }
      return out;
    };
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let trial = 0; trial < 40; trial++) {
      const [w, h] = [3 + Math.floor(random() * 60), 3 + Math.floor(random() * 60)];
      const img = {
        width: w,
        height: h,
        data: Uint8Array.from({ length: w * h }, () => Math.floor(random() * 256)),
      };
      const region = {
        x: (random() - 0.3) * w,
        y: (random() - 0.3) * h,
        width: 0.5 + random() * w,
        height: 0.5 + random() * h,
      };
      const [ow, oh] = [1 + Math.floor(random() * 30), 1 + Math.floor(random() * 30)];
      const fast = resampleRegion(img, region, ow, oh);
      const slow = direct(img, region, ow, oh);
      for (let i = 0; i < fast.length; i++) expect(Math.abs(fast[i]! - slow[i]!)).toBeLessThanOrEqual(1);
    }
  });

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
