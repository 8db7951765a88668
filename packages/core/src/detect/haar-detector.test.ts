import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lfwFile } from '../../../../tests/support/shared-data.ts';
import { decodeGray } from '../image/decode.ts';
import { padImage, resampleRegion, type GrayImage, type Rect } from '../image/gray-image.ts';
import { HaarDetector, liveOpenCvObjects, subjectFirst } from './haar-detector.ts';

const SAMPLES: [string, number][] = [
  ['Aaron_Peirsol', 1],
  ['George_W_Bush', 10],
  ['Serena_Williams', 3],
  ['Colin_Powell', 5],
  ['Gloria_Macapagal_Arroyo', 2],
];

/** `base` (250×250) on the left of a grey canvas `width` wide, and a 0.75× copy of it at `copyX`. */
function faceAndCopy(base: GrayImage, width: number, copyX: number): GrayImage {
  const canvas = { width, height: 250, data: new Uint8Array(width * 250).fill(128) };
  const small = resampleRegion(base, { x: 0, y: 0, width: 250, height: 250 }, 188, 188);
  for (let y = 0; y < 250; y++) canvas.data.set(base.data.subarray(y * 250, (y + 1) * 250), y * width);
  for (let y = 0; y < 188; y++)
    canvas.data.set(small.subarray(y * 188, (y + 1) * 188), (y + 31) * width + copyX);
  return canvas;
}

/** A 90×90 cut of an LFW face: no background left around it, as in ID photos and close webcams. */
function tightCut(base: GrayImage): GrayImage {
  const tight = { width: 90, height: 90, data: new Uint8Array(90 * 90) };
  for (let y = 0; y < 90; y++)
    tight.data.set(base.data.subarray((y + 85) * 250 + 80, (y + 85) * 250 + 170), y * 90);
  return tight;
}

describe('HaarDetector on real LFW faces', () => {
  let detector: HaarDetector;
  const images = new Map<string, GrayImage>();

  beforeAll(async () => {
    detector = await HaarDetector.create();
    for (const [name, n] of SAMPLES) images.set(name, await decodeGray(readFileSync(lfwFile(name, n))));
  });
  afterAll(() => detector.close());

  it.each(SAMPLES)('finds a plausible face in %s %i', (name) => {
    const { faces } = detector.detect(images.get(name)!);
    expect(faces.length).toBeGreaterThanOrEqual(1);
    const face = faces[0]!;
    // LFW images are aligned: the face is near the centre and about half the image wide.
    expect(Math.abs(face.x + face.width / 2 - 125)).toBeLessThan(25);
    expect(Math.abs(face.y + face.height / 2 - 125)).toBeLessThan(30);
    expect(face.width).toBeGreaterThan(80);
    expect(face.width).toBeLessThan(180);
    expect(face.height).toBeCloseTo(face.width, 6);
  });

  it('puts the subject first and maps boxes back to full resolution', () => {
    // The face, and a 0.75× copy of it on the right: two detections, the big one first (both are off
    // centre, the big one by fewer of its own widths).
    const wide = faceAndCopy(images.get('Aaron_Peirsol')!, 500, 300);
    const { faces } = detector.detect(wide);
    expect(faces.length).toBeGreaterThanOrEqual(2);
    expect(faces[0]!.width).toBeGreaterThan(faces[1]!.width);
    expect(faces[0]!.x + faces[0]!.width / 2).toBeLessThan(250);
  });

  it('puts the face at the centre first, ahead of a larger face beside it (subject: centre)', async () => {
    // The face on the left, and a 0.75× copy of it in the middle of the canvas.
    const wide = faceAndCopy(images.get('Aaron_Peirsol')!, 600, 206);
    const centred = detector.detect(wide).faces;
    expect(centred.length).toBeGreaterThanOrEqual(2);
    const first = centred[0]!;
    expect(Math.abs(first.x + first.width / 2 - 300)).toBeLessThan(first.width / 4);
    expect(first.width).toBeLessThan(Math.max(...centred.map((f) => f.width)));
    const largest = await HaarDetector.create({ subject: 'largest' });
    try {
      const faces = largest.detect(wide).faces;
      expect(faces[0]!.width).toBe(Math.max(...faces.map((f) => f.width)));
      expect(faces[0]!.x + faces[0]!.width).toBeLessThan(300);
    } finally {
      largest.close();
    }
  });

  it('finds a face that fills the whole frame only thanks to padding', async () => {
    const tight = tightCut(images.get('Colin_Powell')!);
    expect(detector.detect(tight).faces.length).toBeGreaterThanOrEqual(1);
    const unpadded = await HaarDetector.create({ padRatio: 0 });
    try {
      expect(unpadded.detect(tight).faces).toEqual([]);
    } finally {
      unpadded.close();
    }
  });

  it('detectInside: the faces wholly in the frame, at the coarse scale, without the border', () => {
    const wide = faceAndCopy(images.get('Aaron_Peirsol')!, 500, 300);
    const inside = detector.detect(wide).faces;
    const found = detector.detectInside(wide).faces;
    expect(found).toHaveLength(inside.length);
    // The same faces, in the image's pixels.
    for (const face of found) {
      const match = inside.find((f) => Math.abs(f.x - face.x) < 12 && Math.abs(f.width - face.width) < 24);
      expect(match).toBeDefined();
    }
    // A face that fills the frame needs the border, so detectInside does not see it.
    const tight = tightCut(images.get('Colin_Powell')!);
    expect(detector.detect(tight).faces.length).toBeGreaterThanOrEqual(1);
    expect(detector.detectInside(tight).faces).toEqual([]);
  });

  it('detectInside with exclude: the excluded face is not found, the others are', () => {
    const wide = faceAndCopy(images.get('Aaron_Peirsol')!, 500, 300);
    const before = Uint8Array.from(wide.data);
    const all = detector.detectInside(wide);
    expect(all.faces.length).toBeGreaterThanOrEqual(2);
    const [excluded, ...others] = all.faces;
    const rest = detector.detectInside(wide, { exclude: excluded! });
    const centreIn = (f: Rect, box: Rect): boolean =>
      Math.abs(f.x + f.width / 2 - (box.x + box.width / 2)) < box.width / 2 &&
      Math.abs(f.y + f.height / 2 - (box.y + box.height / 2)) < box.height / 2;
    expect(rest.faces.some((f) => centreIn(f, excluded!))).toBe(false);
    for (const other of others) expect(rest.faces.some((f) => centreIn(f, other))).toBe(true);
    expect(wide.data).toEqual(before); // the caller's frame is untouched
  });

  it('confirmNear: the confirming cascades see each face at its box, not where there is none', () => {
    for (const [name] of SAMPLES) {
      const image = images.get(name)!;
      const [face] = detector.detect(image).faces;
      expect(detector.confirmNear(image, face!, { regionScale: 1.4 }).faces.length, name).toBeGreaterThan(0);
      // The same box upside down: face-like texture, but not an upright face.
      const flipped = { ...image, data: new Uint8Array(image.data.length) };
      for (let y = 0; y < image.height; y++)
        flipped.data.set(
          image.data.subarray(y * image.width, (y + 1) * image.width),
          (image.height - 1 - y) * image.width,
        );
      const mirrored = { ...face!, y: image.height - face!.y - face!.height };
      expect(detector.confirmNear(flipped, mirrored, { regionScale: 1.4 }).faces, name).toEqual([]);
    }
    const blank = padImage({ width: 1, height: 1, data: Uint8Array.of(90) }, 100, 90).image;
    expect(detector.confirmNear(blank, { x: 20, y: 20, width: 60, height: 60 }).faces).toEqual([]);
  });

  it('confirmNear asks its cascades in order, the next only when one finds nothing', async () => {
    const { defaultConfirmCascadePaths } = await import('./haar-detector.ts');
    const [lbp, alt2] = defaultConfirmCascadePaths();
    const [first, second, both] = await Promise.all(
      [[lbp!], [alt2!], [lbp!, alt2!]].map((confirmCascadePaths) =>
        HaarDetector.create({ confirmCascadePaths }),
      ),
    );
    try {
      // The tighter region makes the first cascade miss a face the second finds (George W. Bush's).
      let fellBack = 0;
      for (const [name] of SAMPLES) {
        const image = images.get(name)!;
        const [face] = detector.detect(image).faces;
        for (const regionScale of [1.4, 1.2]) {
          const a = first!.confirmNear(image, face!, { regionScale });
          const b = second!.confirmNear(image, face!, { regionScale });
          if (a.faces.length === 0 && b.faces.length > 0) fellBack++;
          expect(both!.confirmNear(image, face!, { regionScale }).faces, name).toEqual(
            a.faces.length > 0 ? a.faces : b.faces,
          );
        }
      }
      expect(fellBack).toBeGreaterThan(0);
    } finally {
      for (const d of [first, second, both]) d!.close();
    }
    await expect(HaarDetector.create({ confirmCascadePaths: [] })).rejects.toThrow(/confirmCascadePaths/);
    await expect(HaarDetector.create({ confirmCascadePaths: ['/nonexistent/lbp.xml'] })).rejects.toThrow(
      /ENOENT/,
    );
    expect(liveOpenCvObjects()).toBe(0);
  });

  it('finds no face in a blank frame', () => {
    const blank = padImage({ width: 1, height: 1, data: Uint8Array.of(90) }, 100, 90).image;
    expect(detector.detect(blank).faces).toEqual([]);
  });

  it('frees every OpenCV object it allocates', () => {
    const before = liveOpenCvObjects();
    for (let i = 0; i < 5; i++) detector.detect(images.get('George_W_Bush')!);
    expect(liveOpenCvObjects()).toBe(before);
  });

  it('rejects bad options and a missing cascade file', async () => {
    await expect(HaarDetector.create({ scaleFactor: 1 })).rejects.toThrow(TypeError);
    await expect(HaarDetector.create({ cascadePath: '/nonexistent/cascade.xml' })).rejects.toThrow(/ENOENT/);
  });

  it('close() is idempotent and later calls fail clearly', async () => {
    const d = await HaarDetector.create();
    d.close();
    d.close();
    expect(() => d.detect(images.get('George_W_Bush')!)).toThrow(/closed/);
    expect(() =>
      d.confirmNear(images.get('George_W_Bush')!, { x: 80, y: 80, width: 90, height: 90 }),
    ).toThrow(/closed/);
  });
});

describe('HaarDetector fine pass (small faces)', () => {
  let detector: HaarDetector;
  let base: GrayImage;

  beforeAll(async () => {
    // No time budget: what is searched must not depend on how busy the machine is.
    detector = await HaarDetector.create({ fineBudgetMs: Infinity });
    base = await decodeGray(readFileSync(lfwFile('George_W_Bush', 10)));
  });
  afterAll(() => detector.close());

  /** The LFW face (its Haar box on the original), pasted so the box is `width` wide at (x, y). */
  const pasted = (cw: number, ch: number, width: number, x: number, y: number) => {
    const box = detector.detect(base).faces[0]!;
    const k = width / box.width;
    // 1.8× the box around it, as a face in a photo has hair and shoulders around it.
    const region = {
      x: box.x - box.width * 0.4,
      y: box.y - box.width * 0.4,
      width: box.width * 1.8,
      height: box.width * 1.8,
    };
    const side = Math.round(region.width * k);
    const patch = resampleRegion(base, region, side, side);
    const canvas = { width: cw, height: ch, data: new Uint8Array(cw * ch).fill(128) };
    const px = Math.round(x - 0.4 * width);
    const py = Math.round(y - 0.4 * width);
    for (let r = 0; r < side; r++)
      canvas.data.set(patch.subarray(r * side, (r + 1) * side), (py + r) * cw + px);
    return { canvas, truth: { x, y, width, height: width } };
  };

  it('finds a 64 px face in a 1280×720 frame only with the fine pass, in image coordinates', async () => {
    // The coarse pass's smallest face there is 24 px of a 320 px copy of the 2560 px padded frame: 192 px.
    const { canvas, truth } = pasted(1280, 720, 64, 900, 200);
    expect(detector.detect(canvas, { fine: false }).faces).toEqual([]);
    const coarseOnly = await HaarDetector.create({ finePass: false });
    try {
      expect(coarseOnly.detect(canvas).faces).toEqual([]);
    } finally {
      coarseOnly.close();
    }
    const found = detector.detect(canvas);
    expect(found.fine).toMatchObject({ complete: true, smallestFace: 40 });
    expect(found.fine!.largestFace).toBeGreaterThanOrEqual(2 * 192);
    expect(found.faces.length).toBeGreaterThanOrEqual(1);
    const face = found.faces[0]!;
    const centre = (r: typeof face) => [r.x + r.width / 2, r.y + r.height / 2] as const;
    const [fx, fy] = centre(face);
    const [tx, ty] = centre(truth);
    expect(Math.hypot(fx - tx, fy - ty)).toBeLessThan(truth.width / 4);
    expect(Math.abs(face.width / truth.width - 1)).toBeLessThan(0.3);
    // detectFine alone finds the same face.
    expect(detector.detectFine(canvas).faces[0]).toEqual(face);
  });

  it('does not run when the coarse pass finds a face', () => {
    const { canvas } = pasted(640, 480, 200, 200, 100);
    const found = detector.detect(canvas);
    expect(found.faces.length).toBeGreaterThanOrEqual(1);
    expect(found.fine).toBeUndefined();
  });

  it('searches a face-less frame without finding one, and frees what it allocates', () => {
    const before = liveOpenCvObjects();
    const blank = { width: 1280, height: 720, data: new Uint8Array(1280 * 720).fill(90) };
    const found = detector.detect(blank);
    expect(found.faces).toEqual([]);
    expect(found.fine?.complete).toBe(true);
    expect(liveOpenCvObjects()).toBe(before);
  });

  it('gives up the smallest faces first when out of time', async () => {
    const { canvas } = pasted(1280, 720, 64, 900, 200);
    const hurried = await HaarDetector.create({ fineBudgetMs: 0 });
    try {
      // Only the first range (the largest faces) runs: it is the one whose cost is not yet known.
      const found = hurried.detect(canvas);
      expect(found.faces).toEqual([]);
      expect(found.fine!.complete).toBe(false);
      expect(found.fine!.smallestFace).toBeGreaterThan(64);
    } finally {
      hurried.close();
    }
    // The same, for one call.
    expect(detector.detect(canvas, { fineBudgetMs: 0 }).fine!.complete).toBe(false);
    expect(detector.detectFine(canvas, { fineBudgetMs: 0 }).faces).toEqual([]);
  });

  it('caps the copy it searches at fineMaxSide', async () => {
    const { canvas } = pasted(1280, 720, 64, 900, 200);
    const capped = await HaarDetector.create({ fineMaxSide: 640, fineBudgetMs: Infinity });
    try {
      // At half scale the smallest window (24 px) is a 48 px face.
      expect(capped.detect(canvas).fine!.smallestFace).toBe(48);
    } finally {
      capped.close();
    }
  });

  it('rejects bad fine-pass options', async () => {
    await expect(HaarDetector.create({ fineMinFace: 10 })).rejects.toThrow(/fineMinFace/);
    await expect(HaarDetector.create({ fineMaxSide: 0 })).rejects.toThrow(/fineMaxSide/);
    await expect(HaarDetector.create({ fineBudgetMs: -1 })).rejects.toThrow(/fineBudgetMs/);
    await expect(HaarDetector.create({ fineScaleFactor: 1 })).rejects.toThrow(/fineScaleFactor/);
    await expect(HaarDetector.create({ finePass: 'yes' as unknown as boolean })).rejects.toThrow(/finePass/);
  });
});

describe('FaceTracker (region-of-interest search between full searches)', () => {
  it('finds the same face near its last position and falls back to a full search', async () => {
    const { FaceTracker } = await import('./face-tracker.ts');
    const { parseY4m } = await import('../video/y4m.ts');
    const path = await import('node:path');
    const { sharedDataDir } = await import('../../../../tests/support/shared-data.ts');
    const clip = parseY4m(readFileSync(path.join(sharedDataDir(), 'video', 'person-a_320x240_3s.y4m')));
    const detector = await HaarDetector.create();
    try {
      const tracker = new FaceTracker(detector, { fullSearchEvery: 5 });
      const modes: string[] = [];
      for (const frame of clip.frames.slice(0, 10)) {
        const tracked = tracker.detect(frame);
        const full = detector.detect(frame);
        modes.push(tracked.mode);
        expect(tracked.faces.length).toBeGreaterThanOrEqual(1);
        const a = tracked.faces[0]!;
        const b = full.faces[0]!;
        // Same face: centres within a fifth of the face size, sizes within 25%.
        expect(
          Math.hypot(a.x + a.width / 2 - (b.x + b.width / 2), a.y + a.height / 2 - (b.y + b.height / 2)),
        ).toBeLessThan(b.width / 5);
        expect(Math.abs(a.width / b.width - 1)).toBeLessThan(0.25);
      }
      expect(modes).toEqual(['full', 'roi', 'roi', 'roi', 'roi', 'full', 'roi', 'roi', 'roi', 'roi']);
      // A blank frame loses the face: the tracker searches the full frame again.
      const blank = { width: 320, height: 240, data: new Uint8Array(320 * 240).fill(90) };
      expect(tracker.detect(blank)).toMatchObject({ mode: 'full', faceCount: 0 });
      expect(liveOpenCvObjects()).toBe(0);
    } finally {
      detector.close();
    }
  });
});

describe('subjectFirst', () => {
  const box = (x: number, y: number, side: number) => ({ x, y, width: side, height: side });

  it('ranks faces by how far their centre is from the point, in their own widths', () => {
    const big = box(0, 0, 80); // centre (40, 40): 1.06 widths from (100, 100)
    const mid = box(75, 70, 60); // centre (105, 100): 0.08 widths
    const small = box(95, 95, 20); // centre (105, 105): 0.35 widths
    const tiny = box(150, 150, 10); // 8.5 widths
    expect(subjectFirst([small, tiny, big, mid], 'centre', 100, 100)).toEqual([mid, small, big, tiny]);
    expect(subjectFirst([small, tiny, big, mid], 'largest', 100, 100)).toEqual([big, mid, small, tiny]);
  });

  it('breaks ties by size, and keeps an empty list empty', () => {
    const a = box(90, 90, 20);
    const b = box(80, 80, 40);
    expect(subjectFirst([a, b], 'centre', 100, 100)).toEqual([b, a]);
    expect(subjectFirst([], 'centre', 100, 100)).toEqual([]);
  });

  it('refuses an unknown rule at construction', async () => {
    await expect(HaarDetector.create({ subject: 'left' as 'centre' })).rejects.toThrow(/subject/);
  });
});
