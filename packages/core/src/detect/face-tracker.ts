import type { GrayImage, Rect } from '../image/gray-image.ts';
import { centroid } from '../liveness/face-actions.ts';
import type { Detection, HaarDetector } from './haar-detector.ts';

export interface FaceTrackerOptions {
  /**
   * A search of the whole frame at least every this many frames: it finds newcomers and re-counts
   * faces, so a second person entering is seen within this many analysed frames (2 s at 10 fps).
   * While a face is followed it is the count search (`HaarDetector.detectInside`: the frame
   * without the coarse pass's border, 40% of its cost, and with the followed face's box made flat,
   * a quarter of what is left; a newcomer wholly in the frame is counted, one cut by its edge or
   * hidden behind the followed face's box is not); otherwise the full search. @defaultValue 20
   */
  fullSearchEvery?: number;
  /**
   * A tracked face is confirmed at least every this many frames (a tight search around the box its
   * landmarks predict, by the confirming cascades: {@link HaarDetector.confirmNear}), and whenever
   * its fit degrades (see `minFitCorrelation`).
   * Between confirmations the landmarks alone follow it. @defaultValue 5 (0.5 s at 10 fps)
   */
  confirmEvery?: number;
  /**
   * The frontal cascade misses a turned or tilted head that its landmarks still follow, i.e. the
   * very turns liveness asks for: a confirmation that fails while the fit holds (the crops keep
   * correlating) leaves the face tracked, confirming again every frame, for at most this many
   * frames since the last confirmation; then the face counts as lost.
   * Measured on clips/d12 (512×512): during a turn the cascade found no face on 9 consecutive
   * frames while consecutive tracked crops correlated ≥ 0.74. @defaultValue 15 (1.5 s at 10 fps)
   */
  maxUnconfirmed?: number;
  /**
   * The fit degrades when the aligned crop correlates (NCC) less than this with the previous
   * frame's: a face followed at 10 fps changes little between frames, expressions included,
   * while a region the face has left shares no structure with it (NCC near 0). A degraded fit
   * re-checks the same frame with the cascade, so too high a value only costs searches.
   * @defaultValue 0.6
   */
  minFitCorrelation?: number;
  /**
   * The confirming search around a box predicted from landmarks: the region is this many times
   * the box (the cascade needs a margin of windows around the face to gather its neighbours).
   * @defaultValue 1.4
   */
  confirmRegion?: number;
  /**
   * While no face is found, the detector's fine pass (faces too small for the coarse full search:
   * a person a metre or more from the camera) runs once every this many frames, within
   * `fineBudgetMs`; the coarse search runs on every frame. @defaultValue 20 (2 s at 10 fps)
   */
  fineSearchEvery?: number;
  /**
   * The fine pass's time budget in a live stream (it gives up the smallest faces first). On a plain
   * 640×480 frame the whole pass fits and takes 67–72 ms (a range, once started, runs to its end);
   * on a busy background it would take several times that, so the budget gives up the smallest
   * faces there. A face-less stream spends about this every `fineSearchEvery` frames. @defaultValue 60
   */
  fineBudgetMs?: number;
}

export const DEFAULT_FACE_TRACKER_OPTIONS: Required<FaceTrackerOptions> = {
  fullSearchEvery: 20,
  confirmEvery: 5,
  maxUnconfirmed: 15,
  minFitCorrelation: 0.6,
  confirmRegion: 1.4,
  fineSearchEvery: 20,
  fineBudgetMs: 60,
};

export interface TrackedDetection extends Detection {
  /** Faces counted by the latest full search (tracked frames only see the tracked face). */
  readonly faceCount: number;
  /**
   * `full`: a full-frame search; `count`: the periodic count while a face is followed (the frame
   * searched without the border and without the followed face's box, see
   * {@link HaarDetector.detectInside}; the followed face itself tracked or confirmed as on any other
   * frame); `roi`: a search around the last face; `confirm`: the box the last
   * frame's landmarks predicted, confirmed by a tight search around it; `track`: that box alone
   * (no cascade: the cheapest; its fit is checked after alignment, see {@link FaceTracker.follow}).
   */
  readonly mode: 'full' | 'count' | 'roi' | 'confirm' | 'track';
}

/**
 * Where a Haar face box lies relative to its 68 landmarks, fitted on LFW's DevTrain images (the
 * serving cascade's box and the landmark net run on it; 396 faces): with s the mean of the
 * inter-ocular distance and the eyes-to-mouth distance, the box is 2.58 s wide (sd 0.17 s), its
 * centre 0.215 s (sd 0.05 s) from the eyes/mouth midpoint towards the eyes, on the face's own axis.
 */
const BOX_WIDTH_PER_S = 2.58;
const BOX_CENTRE_TOWARDS_EYES_PER_S = 0.215;

/**
 * The square box the Haar cascade would give for a face with these 68 landmarks (`[x0,y0,…]`,
 * image pixels), or null when they are degenerate.
 */
export function boxFromLandmarks(landmarks: ArrayLike<number>): Rect | null {
  if (landmarks.length !== 136) return null;
  const [rx, ry] = centroid(landmarks, 36, 41);
  const [lx, ly] = centroid(landmarks, 42, 47);
  const [mx, my] = centroid(landmarks, 48, 67);
  const ex = (rx + lx) / 2;
  const ey = (ry + ly) / 2;
  const eyesToMouth = Math.hypot(mx - ex, my - ey);
  const s = (Math.hypot(lx - rx, ly - ry) + eyesToMouth) / 2;
  if (!(s > 0 && eyesToMouth > 0)) return null;
  const width = BOX_WIDTH_PER_S * s;
  // Towards the eyes along the face's own vertical axis, so a rolled head keeps its box.
  const cx = (ex + mx) / 2 + ((ex - mx) / eyesToMouth) * BOX_CENTRE_TOWARDS_EYES_PER_S * s;
  const cy = (ey + my) / 2 + ((ey - my) / eyesToMouth) * BOX_CENTRE_TOWARDS_EYES_PER_S * s;
  return { x: cx - width / 2, y: cy - width / 2, width, height: width };
}

/** Whether `face`'s centre lies inside `box`. */
function centreWithin(face: Rect, box: Rect): boolean {
  const cx = face.x + face.width / 2;
  const cy = face.y + face.height / 2;
  return cx >= box.x && cx <= box.x + box.width && cy >= box.y && cy <= box.y + box.height;
}

/** Normalised cross-correlation of two equally sized crops, in [-1, 1] (0 when one is flat). */
export function cropCorrelation(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length || a.length === 0) return 0;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= a.length;
  mb /= b.length;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! - ma;
    const y = b[i]! - mb;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/**
 * Per-stream detection, tracking first. Once a face is found, the landmarks its alignment computes
 * ({@link follow}) predict where it is in the next frame, and that box is used without the
 * cascade. Cascades still re-check: the confirming ones ({@link HaarDetector.confirmNear}) search
 * tightly around the predicted box every `confirmEvery` frames and whenever the fit degrades (the
 * landmark net answers even for a wall, so the aligned crop is compared with the previous one);
 * when that fails, the serving cascade searches around the last face; when that fails too, the
 * whole frame. Every `fullSearchEvery` frames the faces are counted again: the frame is searched
 * without the border and with the followed face's predicted box made flat, and every detection
 * whose centre lies outside that box is another face.
 * One tracker per live session; the detector itself is shared.
 *
 * Measured on the shared talking-head clips at 320×240, 10 fps: consecutive crops of the followed
 * face correlate ≥ 0.57 (1st percentile 0.63), crops of the regions beside it ≤ 0.46.
 */
export class FaceTracker {
  readonly options: Readonly<Required<FaceTrackerOptions>>;
  readonly #detector: HaarDetector;
  #last: Rect | null = null;
  #predicted: Rect | null = null;
  #lastFullCount = 0;
  #sinceFull = Infinity;
  #sinceConfirm = Infinity;
  /** Full searches without a face since the last fine pass (the first one without runs it). */
  #sinceFine: number;
  /** The last frame's aligned crop (its fit is the next frame's reference). */
  #lastCrop: Uint8Array | null = null;
  /** Whether the frame just detected came from the landmarks alone (its fit decides a re-check). */
  #unconfirmed = false;

  constructor(detector: HaarDetector, options: FaceTrackerOptions = {}) {
    this.options = { ...DEFAULT_FACE_TRACKER_OPTIONS, ...options };
    if (!(Number.isInteger(this.options.fullSearchEvery) && this.options.fullSearchEvery >= 1)) {
      throw new TypeError('fullSearchEvery must be an integer ≥ 1');
    }
    if (!(Number.isInteger(this.options.confirmEvery) && this.options.confirmEvery >= 1)) {
      throw new TypeError('confirmEvery must be an integer ≥ 1');
    }
    if (!(
      Number.isInteger(this.options.maxUnconfirmed) &&
      this.options.maxUnconfirmed >= this.options.confirmEvery
    )) {
      throw new TypeError('maxUnconfirmed must be an integer ≥ confirmEvery');
    }
    if (!(this.options.minFitCorrelation >= -1 && this.options.minFitCorrelation <= 1)) {
      throw new TypeError('minFitCorrelation must be in [-1, 1]');
    }
    if (!(Number.isInteger(this.options.fineSearchEvery) && this.options.fineSearchEvery >= 1)) {
      throw new TypeError('fineSearchEvery must be an integer ≥ 1');
    }
    if (!(this.options.fineBudgetMs >= 0)) throw new TypeError('fineBudgetMs must be ≥ 0');
    if (!(this.options.confirmRegion >= 1.1 && this.options.confirmRegion <= 3)) {
      throw new TypeError('confirmRegion must be in [1.1, 3]');
    }
    this.#detector = detector;
    this.#sinceFine = this.options.fineSearchEvery - 1;
  }

  /**
   * The subject's face in `frame`. `recheck`: the same frame again because its tracked fit
   * degraded ({@link follow} said so): the cascade decides this time.
   */
  detect(frame: GrayImage, { recheck = false }: { recheck?: boolean } = {}): TrackedDetection {
    const predicted = recheck ? this.#last : this.#predicted;
    this.#predicted = null; // one prediction per frame; follow() makes the next
    this.#unconfirmed = false;
    if (recheck) this.#lastCrop = null;
    // The periodic count: the followed face is one; the others are what the cascade finds beside it,
    // in the frame with the followed face's box made flat (the cascade's costliest windows are on a
    // face). It does not confirm the followed face: that stays on its own schedule below.
    let counted: Detection | null = null;
    if (
      this.#last !== null &&
      predicted !== null &&
      !recheck &&
      this.#sinceFull >= this.options.fullSearchEvery
    ) {
      counted = this.#detector.detectInside(frame, { exclude: predicted });
      this.#lastFullCount = 1 + counted.faces.filter((f) => !centreWithin(f, predicted)).length;
      this.#sinceFull = 0;
    }
    if (this.#last !== null && this.#sinceFull < this.options.fullSearchEvery) {
      if (!recheck) this.#sinceFull++;
      const faceCount = Math.max(this.#lastFullCount, 1);
      const countMs = counted?.cascadeMs ?? 0;
      if (predicted !== null && !recheck && this.#sinceConfirm < this.options.confirmEvery) {
        this.#sinceConfirm++;
        this.#last = predicted;
        this.#unconfirmed = true;
        return { faces: [predicted], cascadeMs: countMs, faceCount, mode: counted ? 'count' : 'track' };
      }
      if (predicted !== null) {
        const confirm = this.#detector.confirmNear(frame, predicted, {
          regionScale: this.options.confirmRegion,
        });
        const cascadeMs = countMs + confirm.cascadeMs;
        if (confirm.faces.length > 0) {
          // The landmarks' box, not the cascade's: steadier frame to frame, and what alignment expects.
          this.#last = predicted;
          this.#sinceConfirm = 1;
          return { faces: [predicted], cascadeMs, faceCount, mode: counted ? 'count' : 'confirm' };
        }
        // Not confirmed, but the fit held (else this would be a re-check): a turned head, most likely.
        if (!recheck && this.#sinceConfirm < this.options.maxUnconfirmed) {
          this.#sinceConfirm++;
          this.#last = predicted;
          this.#unconfirmed = true;
          return { faces: [predicted], cascadeMs, faceCount, mode: counted ? 'count' : 'track' };
        }
      }
      const near = this.#detector.detectNear(frame, this.#last);
      if (near.faces.length > 0) {
        this.#last = near.faces[0]!;
        this.#sinceConfirm = 1;
        return { ...near, faceCount, mode: 'roi' };
      }
    }
    const full = this.#search(frame);
    this.#sinceFull = 1;
    if (
      full.faces.length === 0 &&
      predicted !== null &&
      !recheck &&
      this.#sinceConfirm < this.options.maxUnconfirmed
    ) {
      // The periodic count found nothing while the landmarks still follow a face whose fit holds.
      this.#sinceConfirm++;
      this.#last = predicted;
      this.#unconfirmed = true;
      return { faces: [predicted], cascadeMs: full.cascadeMs, faceCount: 1, mode: 'track' };
    }
    this.#sinceConfirm = 1;
    this.#last = full.faces[0] ?? null;
    this.#lastFullCount = full.faces.length;
    return { ...full, faceCount: full.faces.length, mode: 'full' };
  }

  /**
   * After alignment: the subject's 68 landmarks and aligned crop in the frame just detected, and
   * whether the landmarks agreed with the box (`FaceAligner`'s `aligned`). They predict the next
   * frame's box. Returns true when the frame came from tracking alone
   * and its fit degraded (its crop no longer looks like the last one): the caller should detect
   * the same frame again with `recheck`.
   */
  follow(landmarks: ArrayLike<number>, crop?: Uint8Array, aligned = true): boolean {
    if (this.#last === null) return false;
    const last = this.#lastCrop;
    // A copy: the caller may hand the crop on (a detect worker transfers its buffer away).
    this.#lastCrop = aligned && crop ? crop.slice() : null;
    const degraded =
      this.#unconfirmed &&
      (!aligned ||
        crop === undefined ||
        last === null ||
        cropCorrelation(last, crop) < this.options.minFitCorrelation);
    this.#unconfirmed = false;
    // Landmarks that disagree with their box (not aligned) predict nothing: the cascade searches.
    this.#predicted = degraded || !aligned ? null : boxFromLandmarks(landmarks);
    return degraded;
  }

  /** A full search: the coarse pass, and the fine pass on its schedule while no face is found. */
  #search(frame: GrayImage): Detection {
    const coarse = this.#detector.detect(frame, { fine: false });
    if (coarse.faces.length > 0) {
      this.#sinceFine = 0;
      return coarse;
    }
    if (++this.#sinceFine < this.options.fineSearchEvery) return coarse;
    this.#sinceFine = 0;
    const fine = this.#detector.detectFine(frame, { fineBudgetMs: this.options.fineBudgetMs });
    return { ...fine, cascadeMs: coarse.cascadeMs + fine.cascadeMs };
  }

  reset(): void {
    this.#last = null;
    this.#predicted = null;
    this.#lastCrop = null;
    this.#unconfirmed = false;
    this.#sinceFull = Infinity;
    this.#sinceConfirm = Infinity;
    this.#sinceFine = this.options.fineSearchEvery - 1;
  }
}
