import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, lfwFile } from '../../../../tests/support/shared-data.ts';
import { HaarDetector } from '../detect/haar-detector.ts';
import { isVerificationError } from '../errors.ts';
import { extractFace } from '../face-analyzer.ts';
import { decodeGray } from '../image/decode.ts';
import type { GrayImage } from '../image/gray-image.ts';
import { cropFace } from '../image/preprocess.ts';
import { FaceAligner, alignedCropSpec, defaultAlignedCrop } from './face-aligner.ts';
import { applySimilarity, templatePoints, warpSimilarity } from './similarity.ts';

const MODEL_DIR = path.join(REPO_ROOT, 'models', 'siamese-v5-int8');

/** The image rotated by `degrees` about its centre (edges repeated). */
function rotate(image: GrayImage, degrees: number): GrayImage {
  const r = (degrees * Math.PI) / 180;
  const a = Math.cos(r);
  const b = Math.sin(r);
  const cx = image.width / 2;
  const cy = image.height / 2;
  const t = { a, b, tx: cx - (a * cx - b * cy), ty: cy - (b * cx + a * cy) };
  return {
    width: image.width,
    height: image.height,
    data: warpSimilarity(image, t, image.width, image.height),
  };
}

const meanAbsDiff = (x: Uint8Array, y: Uint8Array): number => {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.abs(x[i]! - y[i]!);
  return sum / x.length;
};

describe('FaceAligner (landmark-aligned 62×47 crops)', () => {
  let aligner: FaceAligner;
  let detector: HaarDetector;
  beforeAll(async () => {
    const sha = createHash('sha256')
      .update(await readFile(path.join(MODEL_DIR, 'landmarks.onnx')))
      .digest('hex');
    aligner = await FaceAligner.load(MODEL_DIR, defaultAlignedCrop('landmarks.onnx', sha));
    detector = await HaarDetector.create();
  });
  afterAll(async () => {
    await aligner.close();
    detector.close();
  });

  it('puts the landmarks on the template: eyes level and where the template has them', async () => {
    const image = await decodeGray(await readFile(lfwFile('Aaron_Peirsol', 1)));
    const box = extractFace(detector, image)!.box;
    const [landmarks] = await aligner.landmarks(image, [box]);
    // Points 36–41 and 42–47 are the eyes; after the warp they sit near the template's eyes.
    const inCrop = applySimilarity(aligner.transformFor(landmarks!), landmarks!);
    const eye = (from: number): [number, number] => {
      let x = 0;
      let y = 0;
      for (let k = from; k < from + 6; k++) {
        x += inCrop[2 * k]! / 6;
        y += inCrop[2 * k + 1]! / 6;
      }
      return [x, y];
    };
    const [lx, ly] = eye(36);
    const [rx, ry] = eye(42);
    expect(Math.abs(ly - ry)).toBeLessThan(1.5);
    expect(rx - lx).toBeGreaterThan(15);
    expect((lx + rx) / 2).toBeGreaterThan(21);
    expect((lx + rx) / 2).toBeLessThan(26);
    expect(templatePoints(landmarks!)).toHaveLength(102);
  });

  it('undoes an in-plane rotation that the box crop keeps', async () => {
    const image = await decodeGray(await readFile(lfwFile('AJ_Cook', 1)));
    const tilted = rotate(image, 14);
    const upright = extractFace(detector, image)!;
    const tiltedFace = extractFace(detector, tilted)!;
    const [a] = await aligner.align(image, [upright.box]);
    const [b] = await aligner.align(tilted, [tiltedFace.box]);
    expect(a!.aligned && b!.aligned).toBe(true);
    const aligned = meanAbsDiff(a!.crop, b!.crop);
    const boxed = meanAbsDiff(cropFace(image, upright.box), cropFace(tilted, tiltedFace.box));
    // Measured here: 6.1 grey levels apart aligned, 28.7 as box crops.
    expect(aligned).toBeLessThan(boxed / 2);
  });

  it('falls back to the box crop when the landmark fit’s scale strays from the box’s', async () => {
    const image = await decodeGray(await readFile(lfwFile('AJ_Cook', 1)));
    const box = extractFace(detector, image)!.box;
    // A tolerance no real fit meets: every face takes the fallback.
    const strict = await FaceAligner.load(MODEL_DIR, { ...aligner.spec, maxScaleRatio: 1.0001 });
    try {
      const [face] = await strict.align(image, [box]);
      expect(face!.aligned).toBe(false);
      expect(Buffer.from(face!.crop).equals(Buffer.from(cropFace(image, box)))).toBe(true);
    } finally {
      await strict.close();
    }
  });

  it('batches several faces in one run with the same result as one by one', async () => {
    const image = await decodeGray(await readFile(lfwFile('Abdullah_Gul', 3)));
    const box = extractFace(detector, image)!.box;
    const shifted = { ...box, x: box.x + 4 };
    const both = await aligner.align(image, [box, shifted]);
    const [alone] = await aligner.align(image, [shifted]);
    expect(Buffer.from(both[1]!.crop).equals(Buffer.from(alone!.crop))).toBe(true);
    expect(await aligner.align(image, [])).toEqual([]);
  });

  it('refuses a landmark net whose sha256 is not the manifest’s, with a coded error', async () => {
    const spec = defaultAlignedCrop('landmarks.onnx', '0'.repeat(64));
    const error = await FaceAligner.load(MODEL_DIR, spec).catch((e: unknown) => e);
    expect(isVerificationError(error) && error.code).toBe('MODEL_LOAD_FAILED');
  });

  it('validates the manifest crop spec', () => {
    expect(alignedCropSpec(undefined)).toBeUndefined();
    expect(alignedCropSpec({ crop: { widthScale: 0.78 } })).toBeUndefined();
    expect(alignedCropSpec({ crop: defaultAlignedCrop('l.onnx', 'a'.repeat(64)) })?.mode).toBe('aligned');
    expect(() => alignedCropSpec({ crop: { mode: 'aligned' } })).toThrow(/preprocessing.crop/);
    expect(() => alignedCropSpec({ crop: { mode: 'warped' } })).toThrow(/preprocessing.crop/);
  });
});
