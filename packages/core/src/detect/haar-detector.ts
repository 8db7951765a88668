import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findAbove } from '../find-above.ts';
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
  /**
   * When the coarse pass finds no face, `detect` searches again at the image's own scale (the fine
   * pass, {@link HaarDetector.detectFine}) for the faces the coarse pass is too coarse to see. With
   * the defaults the coarse pass's smallest window is a 96 px face in a 640×480 frame, 192 px in
   * 1280×720 and 288 px in 1920×1080 (it is reliable from twice that, see `RELIABLE`). Images where the
   * coarse pass finds a face cost nothing more. @defaultValue true
   */
  finePass?: boolean;
  /**
   * Smallest face the fine pass searches for, image pixels (its smallest window). The model sees 78%
   * of the face box resampled to 47 px wide, so a box under 60 px is already upsampled (and flagged
   * `too_small`); under 40 px the crop is upsampled more than 1.5× and the landmark net gets a region
   * under 52 px for its 112 px input: less detail than the model was trained on. Thanks to its finer
   * scale step (`fineScaleFactor`) and its dense search of the smallest windows (`CASCADE_WINDOW`),
   * the pass is reliable from this size: on the scale sweep (200 DevTest faces on plain gray, no time
   * limit) it found 99.5% at 40 px and 100% from 48 px on each canvas (93% at 40 and 98.5–100% at 48
   * before the dense search). It costs as the square of 1 / this. @defaultValue 40
   */
  fineMinFace?: number;
  /**
   * The fine pass searches the image itself when its longer side is at most this, else a copy shrunk
   * to it (area-averaged; the smallest face found then grows in proportion). 1920 searches a 1080p
   * frame at its own scale: the cascade's own scaling of the full-resolution image finds small faces
   * more often than a pre-shrunk copy (on 91 faces pasted into 640×480 at 48 px: 96% with the cascade
   * starting at 40 px windows on the image, 87% on a 0.6 copy starting at 24 px). It bounds the cost
   * on large photos (a 4000×3000 image is searched at 0.48, from 83 px faces). @defaultValue 1920
   */
  fineMaxSide?: number;
  /**
   * Time budget of the fine pass, ms (a call may pass its own). The pass searches ranges of face
   * sizes, largest first (the cascade shrinks the image for them, so they are cheap), each range's
   * smallest face half the last's; it does not start a range whose predicted cost (the previous
   * range's, times the ratio of image pixels / smallest window²) would overrun the budget, so it gives
   * up the smallest faces first and reports `fine.complete: false`. The first range always runs. The
   * prediction is rough (the smallest range's actual cost was 0.5–1.5× it), and a range, once
   * started, cannot be interrupted. 1000: about twice the largest median cost measured for a 1080p
   * frame with a plain background, so that one image (an upload) is searched fully unless the machine
   * is loaded or the background busy; a live stream should pass a budget that fits its frame interval.
   * Costs: see {@link HaarDetector.detectFine}. @defaultValue 1000
   */
  fineBudgetMs?: number;
  /**
   * `scaleFactor` of the fine pass. Finer than the coarse pass's 1.1: the faces it looks for are near
   * its smallest window, where the coarse step leaves too few neighbouring scales for `minNeighbors`.
   * On 91 faces pasted into 640×480 (windows from 32 px): 1.1 found 90% at 40 px and 97% at 48 px,
   * 1.05 found 100% at both, at about twice the cost. @defaultValue 1.05
   */
  fineScaleFactor?: number;
  /**
   * The cascades {@link HaarDetector.confirmNear} asks, in this order until one finds a face, whether
   * a tracked face is still where its landmarks put it. Only a yes or no is wanted there (the box is
   * the landmarks'), so a cheaper cascade goes first and a surer one second. Over the five
   * talking-head clips and person A's, 785 tracked frames: the serving cascade found the face around
   * 92.4% of them at 1.46 ms a search, OpenCV's LBP cascade 80.8% at 0.37 ms, Lienhart's `alt2` Haar
   * cascade 99.5% at 1.42 ms; on 252 upside-down faces and 1,000 LFW corners each confirmed at most
   * 1 and 1 (the serving cascade 3 and 0, the LBP one none).
   * @defaultValue the LBP cascade, then `alt2` (packages/core/assets/cascades)
   */
  confirmCascadePaths?: readonly string[];
}

export const DEFAULT_HAAR_DETECTOR_OPTIONS: Required<
  Omit<HaarDetectorOptions, 'cascadePath' | 'confirmCascadePaths'>
> = {
  maxDetectSide: 320,
  padRatio: 0.5,
  scaleFactor: 1.1,
  minNeighbors: 5,
  minFaceSize: 24,
  equalize: false,
  subject: 'centre',
  finePass: true,
  fineMinFace: 40,
  fineMaxSide: 1920,
  fineBudgetMs: 1000,
  fineScaleFactor: 1.05,
};

/**
 * A search finds faces reliably only from about this many times its smallest window: near it the
 * cascade has few smaller scales to gather the neighbouring hits `minNeighbors` asks for. Measured
 * for the coarse pass on the scale sweep (`npm run bench:scale`, 200 DevTest faces): found 74.5% at
 * its smallest window, 89–89.5% at 1.33×, 97–97.5% at 2× (88.5% at 1.39× in 1920×1080). So the
 * fine pass also covers faces up to twice the coarse pass's smallest window.
 */
const RELIABLE = 2;
/** Each range of fine-pass windows spans this factor; the next starts at twice its start. */
const RANGE_SPAN = 2.5;
/**
 * The side of the frontal cascade's own window, px. OpenCV's `detectMultiScale` shrinks the image by
 * window / this for each window size and moves the window 2 px at a time while that factor is ≤ 2,
 * 1 px beyond: windows under twice this are tried at a quarter of the positions, so fewer
 * neighbouring hits gather around a face for `minNeighbors`. The fine pass searches such windows on
 * a copy twice the size, where the same faces are tried at every position.
 */
const CASCADE_WINDOW = 24;

export interface Detection {
  /** Faces in full-resolution image coordinates, the subject first (see `HaarDetectorOptions.subject`). */
  readonly faces: Rect[];
  /** Milliseconds spent in the cascade itself (both passes when the fine pass ran). */
  readonly cascadeMs: number;
  /** Present when the fine pass ran (see {@link HaarDetector.detectFine}). */
  readonly fine?: FineSearch;
}

/** Per-call settings of `detect` and `detectFine` (defaults: the detector's options). */
export interface FineCallOptions {
  /** Run the fine pass when the coarse pass finds nothing (`detect` only). */
  fine?: boolean;
  /** Time budget of the fine pass, ms. */
  fineBudgetMs?: number;
}

/** What a fine pass searched. */
export interface FineSearch {
  /** Wall-clock time of the fine pass (resampling and cascades), ms. */
  readonly ms: number;
  /** Smallest face width searched, image pixels (0 when nothing was searched). */
  readonly smallestFace: number;
  /** Largest face width searched, image pixels (0 when nothing was searched). */
  readonly largestFace: number;
  /** False when the time budget stopped it before its smallest faces. */
  readonly complete: boolean;
}

const require = createRequire(import.meta.url);

export function defaultCascadePath(): string {
  const pkg = require.resolve('opencv.js/package.json');
  return path.join(path.dirname(pkg), 'tests', 'haarcascade_frontalface_default.xml');
}

/**
 * The confirming cascades committed in packages/core/assets/cascades (see its README), found with
 * {@link findAbove} from this module.
 */
export function defaultConfirmCascadePaths(): string[] {
  const files = ['lbpcascade_frontalface.xml', 'haarcascade_frontalface_alt2.xml'];
  const start = path.dirname(fileURLToPath(import.meta.url));
  const assets = path.join('packages', 'core', 'assets', 'cascades');
  const root = findAbove(start, path.join(assets, files[0]!));
  // Not found: name where they were expected, so the load error says where to look.
  const folder = root === null ? path.resolve(start, '../../assets/cascades') : path.join(root, assets);
  return files.map((f) => path.join(folder, f));
}

const area = (r: Rect): number => r.width * r.height;
/** Intersection over union of two boxes. */
function iou(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (area(a) + area(b) - inter);
}
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

/**
 * Fills `region` (clipped) of a `width`×`height` copy with its own mean: a flat patch, whose windows
 * the cascade rejects in its first stage, at the patch's brightness, so its edges are no stronger
 * than the picture's own.
 */
function flatten(data: Uint8Array, width: number, height: number, region: Rect): void {
  const x0 = Math.max(0, Math.floor(region.x));
  const y0 = Math.max(0, Math.floor(region.y));
  const x1 = Math.min(width, Math.ceil(region.x + region.width));
  const y1 = Math.min(height, Math.ceil(region.y + region.height));
  if (x1 <= x0 || y1 <= y0) return;
  let sum = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += data[y * width + x]!;
  const mean = Math.round(sum / ((x1 - x0) * (y1 - y0)));
  for (let y = y0; y < y1; y++) data.fill(mean, y * width + x0, y * width + x1);
}

let cascadeFileCounter = 0;
let liveMats = 0;

/** An OpenCV cascade (Haar or LBP) from its XML, through OpenCV.js's in-memory file system. */
function loadCascade(cv: OpenCv, file: string, xml: Buffer): CvCascadeClassifier {
  const virtualName = `cascade-${process.pid}-${cascadeFileCounter++}.xml`;
  cv.FS_createDataFile('/', virtualName, xml, true, false, false);
  const cascade = new cv.CascadeClassifier();
  try {
    if (!cascade.load(`/${virtualName}`) || cascade.empty()) {
      throw new Error(`not a valid OpenCV cascade: ${file}`);
    }
    return cascade;
  } catch (error) {
    cascade.delete();
    throw error;
  } finally {
    cv.FS_unlink(`/${virtualName}`);
  }
}

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
  /** {@link HaarDetectorOptions.confirmCascadePaths}, loaded, in their order. */
  #confirmers: CvCascadeClassifier[];

  private constructor(
    cv: OpenCv,
    cascade: CvCascadeClassifier,
    confirmers: CvCascadeClassifier[],
    options: Required<HaarDetectorOptions>,
  ) {
    this.#cv = cv;
    this.#cascade = cascade;
    this.#confirmers = confirmers;
    this.options = options;
  }

  static async create(options: HaarDetectorOptions = {}): Promise<HaarDetector> {
    const opts: Required<HaarDetectorOptions> = {
      ...DEFAULT_HAAR_DETECTOR_OPTIONS,
      cascadePath: defaultCascadePath(),
      confirmCascadePaths: defaultConfirmCascadePaths(),
      ...options,
    };
    if (!(Array.isArray(opts.confirmCascadePaths) && opts.confirmCascadePaths.length >= 1)) {
      throw new TypeError('confirmCascadePaths must name at least one cascade');
    }
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
    if (typeof opts.finePass !== 'boolean') throw new TypeError('finePass must be a boolean');
    if (!(opts.fineMinFace >= opts.minFaceSize)) throw new TypeError('fineMinFace must be ≥ minFaceSize');
    if (!(opts.fineMaxSide >= 32)) throw new TypeError('fineMaxSide must be ≥ 32');
    if (!(opts.fineBudgetMs >= 0)) throw new TypeError('fineBudgetMs must be ≥ 0');
    if (!(opts.fineScaleFactor > 1 && opts.fineScaleFactor < 2)) {
      throw new TypeError('fineScaleFactor must be in (1, 2)');
    }

    const files = [opts.cascadePath, ...opts.confirmCascadePaths].map(
      (file) => [file, readFileSync(file)] as const,
    );
    const cv = await loadOpenCv();
    const loaded: CvCascadeClassifier[] = [];
    try {
      for (const [file, xml] of files) loaded.push(loadCascade(cv, file, xml));
    } catch (error) {
      for (const cascade of loaded) cascade.delete();
      throw error;
    }
    const [cascade, ...confirmers] = loaded;
    return new HaarDetector(cv, cascade!, confirmers, opts);
  }

  /**
   * Finds faces in `image` (full search); coordinates are in `image`'s own pixels. A coarse pass on a
   * padded copy shrunk to `maxDetectSide` first; when it finds nothing and `fine` is on (default: the
   * `finePass` option), the fine pass ({@link HaarDetector.detectFine}) looks for the smaller faces it
   * cannot see, within `fineBudgetMs` (default: the option).
   */
  detect(
    image: GrayImage,
    { fine = this.options.finePass, fineBudgetMs = this.options.fineBudgetMs }: FineCallOptions = {},
  ): Detection {
    assertGrayImage(image);
    const coarse = this.#coarse(image);
    if (coarse.faces.length > 0 || !fine) {
      const faces = subjectFirst(coarse.faces, this.options.subject, image.width / 2, image.height / 2);
      return { faces, cascadeMs: coarse.cascadeMs };
    }
    const result = this.#fine(image, coarse.smallestFace, fineBudgetMs);
    return { ...result, cascadeMs: coarse.cascadeMs + result.cascadeMs };
  }

  /**
   * The fine pass alone: the faces `detect`'s coarse pass cannot see, from `fineMinFace` to twice the
   * coarse pass's smallest face (larger ones are the coarse pass's), searched on the image without
   * padding (shrunk only past `fineMaxSide`) with `fineScaleFactor`, within `fineBudgetMs` (or the
   * call's own budget); coordinates in `image`'s pixels. `detect` runs it by itself when the coarse
   * pass finds nothing. A live stream should bound it to its frame time: `detect(frame, { fine: false })`
   * on most frames and this on a schedule (e.g. every few frames while no face is tracked, or now and
   * then while one is, to notice a smaller face), or `detect(frame, { fineBudgetMs })`.
   *
   * Measured (`npm run bench:scale`, 200 DevTest faces, OpenCV.js WASM on one thread of a shared 2-core
   * AMD EPYC; median CPU ms of a `detect` call that ran both passes; the coarse pass alone: 12, 16
   * and 30 ms):
   *
   * | canvas    | one small face, plain gray | no face, plain gray | no face, 4×4-block noise        |
   * | --------- | -------------------------- | ------------------- | ------------------------------- |
   * | 640×480   | 78–93                      | 59                  | ≈ 500                           |
   * | 1280×720  | 180–244                    | 159                 | ≈ 300, then cut by the budget   |
   * | 1920×1080 | 391–509                    | 394                 | ≈ 735, then cut by the budget   |
   *
   * The dense search of the smallest windows (`CASCADE_WINDOW`) costs half to three quarters again
   * (the same cells were 47–62, 108–160 and 222–345 without it, measured the same day). The cost
   * depends on the content: texture lets more windows past the cascade's first stages (block noise
   * is meant as a worst case; real backgrounds were not measured). Under load, wall-clock time was
   * up to 3× these.
   */
  detectFine(
    image: GrayImage,
    { fineBudgetMs = this.options.fineBudgetMs }: FineCallOptions = {},
  ): Detection {
    assertGrayImage(image);
    const { pw, dw } = this.#coarseGeometry(image);
    return this.#fine(image, (this.options.minFaceSize * pw) / dw, fineBudgetMs);
  }

  /**
   * The coarse pass without its border: faces wholly inside `image`, at the scale the coarse pass
   * searches it (the same smallest face), in `image`'s pixels. The border is there for a face that
   * fills the frame; a tracker that already follows the subject counts the others with this. On a
   * 320×240 frame it costs about 40% of `detect` (6.4 against 16 ms of cascade), as the border is
   * three quarters of the coarse pass's copy. `exclude`: a region (the face already followed) made
   * flat in the searched copy, so the cascade neither finds it nor spends its deeper stages there: a
   * face passes most of them in every window around it (on a 320×240 frame with a 194 px face, 9.0
   * against 2.3 ms). A face that overlaps the region is hidden as far as it does.
   */
  detectInside(image: GrayImage, { exclude }: { exclude?: Rect } = {}): Detection {
    assertGrayImage(image);
    const { faces, cascadeMs } = this.#coarse(image, false, exclude);
    return { faces: subjectFirst(faces, this.options.subject, image.width / 2, image.height / 2), cascadeMs };
  }

  #coarseGeometry(image: GrayImage): { pw: number; ph: number; dw: number; dh: number } {
    const { padRatio, maxDetectSide } = this.options;
    const pw = image.width + 2 * Math.round(image.width * padRatio);
    const ph = image.height + 2 * Math.round(image.height * padRatio);
    const scale = Math.min(1, maxDetectSide / Math.max(pw, ph));
    return { pw, ph, dw: Math.max(1, Math.round(pw * scale)), dh: Math.max(1, Math.round(ph * scale)) };
  }

  /**
   * The coarse pass: padded, shrunk to `maxDetectSide`. `smallestFace`: its smallest window, image
   * px. Without `border`, the image alone at the scale the padded copy is searched (`detectInside`).
   */
  #coarse(
    image: GrayImage,
    border = true,
    exclude?: Rect,
  ): { faces: Rect[]; cascadeMs: number; smallestFace: number } {
    const { padRatio } = this.options;
    const geometry = this.#coarseGeometry(image);
    const padded = border && padRatio > 0 ? padImage(image, padRatio) : { image, offsetX: 0, offsetY: 0 };
    const { width: pw, height: ph } = padded.image;
    const scale = geometry.dw / geometry.pw;
    const dw = border ? geometry.dw : Math.max(1, Math.round(pw * scale));
    const dh = border ? geometry.dh : Math.max(1, Math.round(ph * scale));
    const sx = pw / dw;
    const sy = ph / dh;
    let small =
      dw === pw && dh === ph
        ? padded.image.data
        : resampleRegion(padded.image, { x: 0, y: 0, width: pw, height: ph }, dw, dh);
    if (exclude) {
      if (small === image.data) small = small.slice();
      flatten(small, dw, dh, {
        x: (exclude.x + padded.offsetX) / sx,
        y: (exclude.y + padded.offsetY) / sy,
        width: exclude.width / sx,
        height: exclude.height / sy,
      });
    }
    const { rects, cascadeMs } = this.#runCascade(this.#open(), small, dw, dh, this.options.minFaceSize, 0);
    const faces = rects.map((r) => ({
      x: r.x * sx - padded.offsetX,
      y: r.y * sy - padded.offsetY,
      width: r.width * sx,
      height: r.height * sy,
    }));
    return { faces, cascadeMs, smallestFace: this.options.minFaceSize * sx };
  }

  /**
   * Face sizes from `fineMinFace` to `coarseSmallest × RELIABLE` on one copy (the image itself up to
   * `fineMaxSide`; for the range holding windows under twice `CASCADE_WINDOW`, a copy twice that
   * size), in ranges of windows each twice the last, largest first (they are the cheapest: the
   * cascade shrinks the copy for them), within `fineBudgetMs`.
   */
  #fine(image: GrayImage, coarseSmallest: number, fineBudgetMs: number): Detection {
    if (!(fineBudgetMs >= 0)) throw new TypeError('fineBudgetMs must be ≥ 0');
    const t0 = performance.now();
    const { minFaceSize, fineMinFace, fineMaxSide, fineScaleFactor } = this.options;
    const scale = Math.min(1, fineMaxSide / Math.max(image.width, image.height));
    const w = Math.max(1, Math.round(image.width * scale));
    const h = Math.max(1, Math.round(image.height * scale));
    const sx = image.width / w;
    const sy = image.height / h;
    // Window sizes in pixels of the copy.
    const smallest = Math.max(minFaceSize, Math.ceil(fineMinFace / sx));
    const largest = Math.min(Math.floor((coarseSmallest * RELIABLE) / sx), Math.min(w, h));
    const ranges: [number, number][] = [];
    for (let lo = smallest; lo < largest; lo *= 2)
      ranges.push([lo, Math.min(largest, Math.ceil(lo * RANGE_SPAN))]);
    ranges.reverse();

    const found: Rect[] = [];
    let cascadeMs = 0;
    let smallestFace = Infinity;
    let largestFace = 0;
    let complete = true;
    let perWindowArea = NaN; // ms per (copy pixels / smallest window²), from the previous range
    const whole = { x: 0, y: 0, width: image.width, height: image.height };
    const copies = new Map<number, Uint8Array>();
    for (const [lo, hi] of ranges) {
      const work = (w * h) / (lo * lo);
      if (Number.isFinite(perWindowArea) && performance.now() - t0 + perWindowArea * work > fineBudgetMs) {
        complete = false;
        break;
      }
      // Windows under twice the cascade's own are searched on a copy twice the size (see CASCADE_WINDOW).
      const k = lo < 2 * CASCADE_WINDOW ? 2 : 1;
      let copy = copies.get(k);
      if (copy === undefined) {
        copy =
          k * w === image.width && k * h === image.height
            ? image.data
            : resampleRegion(image, whole, k * w, k * h);
        copies.set(k, copy);
      }
      const run = this.#runCascade(this.#open(), copy, k * w, k * h, k * lo, k * hi, fineScaleFactor);
      cascadeMs += run.cascadeMs;
      perWindowArea = run.cascadeMs / work;
      smallestFace = Math.min(smallestFace, lo * sx);
      largestFace = Math.max(largestFace, hi * sx);
      for (const r of run.rects) {
        const face = {
          x: (r.x * sx) / k,
          y: (r.y * sy) / k,
          width: (r.width * sx) / k,
          height: (r.height * sy) / k,
        };
        // Adjacent ranges overlap: the box from the range of smaller windows replaces the other.
        for (let i = found.length - 1; i >= 0; i--) if (iou(found[i]!, face) > 0.4) found.splice(i, 1);
        found.push(face);
      }
    }
    return {
      faces: subjectFirst(found, this.options.subject, image.width / 2, image.height / 2),
      cascadeMs,
      fine: {
        ms: performance.now() - t0,
        smallestFace: Number.isFinite(smallestFace) ? smallestFace : 0,
        largestFace,
        complete,
      },
    };
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
    return this.#near(image, previous, regionScale, [this.#open()]);
  }

  /**
   * Whether a face is still at `predicted` (a box a tracked face's landmarks predicted): the same
   * search as {@link detectNear} over the region `regionScale`× the box, run with each of the
   * confirming cascades in turn (see `HaarDetectorOptions.confirmCascadePaths`) until one finds a
   * face. Its faces are that cascade's boxes, to count, not to follow: they are placed a little
   * differently from the serving cascade's.
   */
  confirmNear(
    image: GrayImage,
    predicted: Rect,
    { regionScale = 2 }: { regionScale?: number } = {},
  ): Detection {
    this.#open();
    return this.#near(image, predicted, regionScale, this.#confirmers);
  }

  #open(): CvCascadeClassifier {
    if (this.#cascade === null) throw new Error('HaarDetector is closed');
    return this.#cascade;
  }

  /** The region `regionScale`× `previous`, resampled so the face is about 48 px, searched by each cascade until one finds a face. */
  #near(image: GrayImage, previous: Rect, regionScale: number, cascades: CvCascadeClassifier[]): Detection {
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
    let rects: Rect[] = [];
    let cascadeMs = 0;
    for (const cascade of cascades) {
      const run = this.#runCascade(
        cascade,
        small,
        out,
        out,
        Math.floor(target * 0.7),
        Math.ceil(target * 1.45),
      );
      cascadeMs += run.cascadeMs;
      rects = run.rects;
      if (rects.length > 0) break;
    }
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
    cascade: CvCascadeClassifier,
    pixels: Uint8Array,
    width: number,
    height: number,
    minSize: number,
    maxSize: number,
    scaleFactor = this.options.scaleFactor,
  ): { rects: Rect[]; cascadeMs: number } {
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
        scaleFactor,
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

  /** Releases the cascades. Idempotent. */
  close(): void {
    this.#cascade?.delete();
    this.#cascade = null;
    for (const cascade of this.#confirmers.splice(0)) cascade.delete();
  }
}
