import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { assertGrayImage, padImage, resampleRegion, type GrayImage, type Rect } from '../image/gray-image.ts';
import { loadOpenCv, type CvCascadeClassifier, type OpenCv } from './opencv-runtime.ts';

export interface HaarDetectorOptions {
  /**
   * Path of `haarcascade_frontalface_default.xml`.
   * @defaultValue the copy shipped in the `opencv.js` npm package (byte-identical to OpenCV's
   * `data/haarcascades` file, sha256 0f7d4527…)
   */
  cascadePath?: string;
  /** Detection runs on a copy whose longer side is at most this. @defaultValue 320 */
  maxDetectSide?: number;
  /**
   * Border added on each side, as a fraction of the image size, before detecting, so faces that
   * fill the frame are still inside the cascade's search windows. @defaultValue 0.5 (2× canvas)
   */
  padRatio?: number;
  /** @defaultValue 1.1 */
  scaleFactor?: number;
  /** @defaultValue 5 */
  minNeighbors?: number;
  /** Smallest face searched, in pixels of the detection copy. @defaultValue 24 */
  minFaceSize?: number;
  /**
   * Equalise the histogram of the detection copy. Off by default: with the padding border the
   * histogram is dominated by the fill, and on LFW equalising raised misses from 0.5% to 12%.
   * @defaultValue false
   */
  equalize?: boolean;
  /**
   * Which face comes first (the one a single-person verification uses). `centre`: the face whose
   * centre is nearest the centre of the image (of the searched region, when tracking), distance
   * measured in the face's own widths, so a small detection near the middle does not beat the
   * subject's face a little off it. `largest`: the largest face (the rule before 2026-12).
   * A portrait is framed on its subject and people centre themselves in a webcam; a larger face at
   * the side is usually someone else's, or a false detection around the subject's. On LFW, whose
   * images are centred on the named person, `largest` picked another box than LFW's own face box in
   * 2.4% of the images outside DevTest, `centre` in 0.3% (only where no detection matched it).
   * @defaultValue 'centre'
   */
  subject?: 'centre' | 'largest';
}

export const DEFAULT_HAAR_DETECTOR_OPTIONS: Required<Omit<HaarDetectorOptions, 'cascadePath'>> = {
  maxDetectSide: 320,
  padRatio: 0.5,
  scaleFactor: 1.1,
  minNeighbors: 5,
  minFaceSize: 24,
  equalize: false,
  subject: 'centre',
};

export interface Detection {
  /** Faces in full-resolution image coordinates, the subject first (see `HaarDetectorOptions.subject`). */
  readonly faces: Rect[];
  /** Milliseconds spent in the cascade itself. */
  readonly cascadeMs: number;
}

const require = createRequire(import.meta.url);

export function defaultCascadePath(): string {
  const pkg = require.resolve('opencv.js/package.json');
  return path.join(path.dirname(pkg), 'tests', 'haarcascade_frontalface_default.xml');
}

const area = (r: Rect): number => r.width * r.height;
/** Distance from the face's centre to (cx, cy), in face widths. */
const offCentre = (r: Rect, cx: number, cy: number): number =>
  Math.hypot(r.x + r.width / 2 - cx, r.y + r.height / 2 - cy) / r.width;

/**
 * Orders detections so the subject comes first (see {@link HaarDetectorOptions.subject}).
 * `cx, cy`: the centre of the image or of the searched region.
 */
export function subjectFirst(faces: Rect[], rule: 'centre' | 'largest', cx: number, cy: number): Rect[] {
  return rule === 'centre'
    ? faces.sort((a, b) => offCentre(a, cx, cy) - offCentre(b, cx, cy) || area(b) - area(a))
    : faces.sort((a, b) => area(b) - area(a));
}

let cascadeFileCounter = 0;
let liveMats = 0;

/** OpenCV.js objects currently allocated by detectors (for leak tests). */
export function liveOpenCvObjects(): number {
  return liveMats;
}

/**
 * OpenCV's Haar cascade frontal-face detector (the WASM build; see README for the native vs WASM
 * measurements behind the choice). Synchronous per call; one instance may serve many sessions.
 */
export class HaarDetector {
  readonly options: Readonly<Required<HaarDetectorOptions>>;
  #cv: OpenCv;
  #cascade: CvCascadeClassifier | null;

  private constructor(cv: OpenCv, cascade: CvCascadeClassifier, options: Required<HaarDetectorOptions>) {
    this.#cv = cv;
    this.#cascade = cascade;
    this.options = options;
  }

  static async create(options: HaarDetectorOptions = {}): Promise<HaarDetector> {
    const opts: Required<HaarDetectorOptions> = {
      ...DEFAULT_HAAR_DETECTOR_OPTIONS,
      cascadePath: defaultCascadePath(),
      ...options,
    };
    if (!(opts.maxDetectSide >= 32)) throw new TypeError('maxDetectSide must be ≥ 32');
    if (!(opts.padRatio >= 0 && opts.padRatio <= 2)) throw new TypeError('padRatio must be in [0, 2]');
    if (!(opts.scaleFactor > 1 && opts.scaleFactor < 2)) throw new TypeError('scaleFactor must be in (1, 2)');
    if (!(Number.isInteger(opts.minNeighbors) && opts.minNeighbors >= 0)) {
      throw new TypeError('minNeighbors must be a non-negative integer');
    }
    if (!(opts.minFaceSize >= 8)) throw new TypeError('minFaceSize must be ≥ 8');
    if (opts.subject !== 'centre' && opts.subject !== 'largest') {
      throw new TypeError("subject must be 'centre' or 'largest'");
    }

    const xml = readFileSync(opts.cascadePath);
    const cv = await loadOpenCv();
    const virtualName = `cascade-${process.pid}-${cascadeFileCounter++}.xml`;
    cv.FS_createDataFile('/', virtualName, xml, true, false, false);
    const cascade = new cv.CascadeClassifier();
    try {
      if (!cascade.load(`/${virtualName}`) || cascade.empty()) {
        throw new Error(`not a valid Haar cascade: ${opts.cascadePath}`);
      }
    } catch (error) {
      cascade.delete();
      throw error;
    } finally {
      cv.FS_unlink(`/${virtualName}`);
    }
    return new HaarDetector(cv, cascade, opts);
  }

  /** Finds faces in `image` (full search); coordinates are in `image`'s own pixels. */
  detect(image: GrayImage): Detection {
    assertGrayImage(image);
    const { padRatio, maxDetectSide } = this.options;
    const padded = padRatio > 0 ? padImage(image, padRatio) : { image, offsetX: 0, offsetY: 0 };
    const { width: pw, height: ph } = padded.image;
    const scale = Math.min(1, maxDetectSide / Math.max(pw, ph));
    const dw = Math.max(1, Math.round(pw * scale));
    const dh = Math.max(1, Math.round(ph * scale));
    const small =
      scale === 1
        ? padded.image.data
        : resampleRegion(padded.image, { x: 0, y: 0, width: pw, height: ph }, dw, dh);
    const { rects, cascadeMs } = this.#runCascade(small, dw, dh, this.options.minFaceSize, 0);
    const sx = pw / dw;
    const sy = ph / dh;
    const faces = rects.map((r) => ({
      x: r.x * sx - padded.offsetX,
      y: r.y * sy - padded.offsetY,
      width: r.width * sx,
      height: r.height * sy,
    }));
    return { faces: subjectFirst(faces, this.options.subject, image.width / 2, image.height / 2), cascadeMs };
  }

  /**
   * Searches only around a face seen in an earlier frame, at scales close to its size: the region
   * `regionScale`× the face, resampled so the face is about 48 px, windows from 0.7× to 1.45× that.
   * Several times cheaper than a full search; a tracker falls back to `detect` when it finds nothing.
   */
  detectNear(
    image: GrayImage,
    previous: Rect,
    { regionScale = 2 }: { regionScale?: number } = {},
  ): Detection {
    assertGrayImage(image);
    if (!(previous.width > 0 && previous.height > 0))
      throw new TypeError('previous face must have a positive size');
    const target = 48;
    const side = previous.width * regionScale;
    const region = {
      x: previous.x + previous.width / 2 - side / 2,
      y: previous.y + previous.height / 2 - side / 2,
      width: side,
      height: side,
    };
    const out = Math.max(32, Math.round(target * regionScale));
    const small = resampleRegion(image, region, out, out);
    const { rects, cascadeMs } = this.#runCascade(
      small,
      out,
      out,
      Math.floor(target * 0.7),
      Math.ceil(target * 1.45),
    );
    const s = side / out;
    const faces = rects.map((r) => ({
      x: region.x + r.x * s,
      y: region.y + r.y * s,
      width: r.width * s,
      height: r.height * s,
    }));
    const [cx, cy] = [region.x + side / 2, region.y + side / 2];
    return { faces: subjectFirst(faces, this.options.subject, cx, cy), cascadeMs };
  }

  #runCascade(
    pixels: Uint8Array,
    width: number,
    height: number,
    minSize: number,
    maxSize: number,
  ): { rects: Rect[]; cascadeMs: number } {
    const cascade = this.#cascade;
    if (cascade === null) throw new Error('HaarDetector is closed');
    const cv = this.#cv;
    const mat = new cv.Mat(height, width, cv.CV_8UC1);
    const found = new cv.RectVector();
    liveMats += 2;
    try {
      mat.data.set(pixels);
      if (this.options.equalize) cv.equalizeHist(mat, mat);
      const t0 = performance.now();
      cascade.detectMultiScale(
        mat,
        found,
        this.options.scaleFactor,
        this.options.minNeighbors,
        0,
        new cv.Size(minSize, minSize),
        new cv.Size(maxSize, maxSize),
      );
      const cascadeMs = performance.now() - t0;
      const rects: Rect[] = [];
      for (let i = 0; i < found.size(); i++) {
        const r = found.get(i);
        rects.push({ x: r.x, y: r.y, width: r.width, height: r.height });
      }
      return { rects, cascadeMs };
    } finally {
      mat.delete();
      found.delete();
      liveMats -= 2;
    }
  }

  /** Releases the cascade. Idempotent. */
  close(): void {
    this.#cascade?.delete();
    this.#cascade = null;
  }
}
