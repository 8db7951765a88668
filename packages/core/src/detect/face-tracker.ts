import type { GrayImage, Rect } from '../image/gray-image.ts';
import type { Detection, HaarDetector } from './haar-detector.ts';

export interface FaceTrackerOptions {
  /** A full-frame search at least every this many frames (finds newcomers, re-counts faces). @defaultValue 10 */
  fullSearchEvery?: number;
}

export const DEFAULT_FACE_TRACKER_OPTIONS: Required<FaceTrackerOptions> = { fullSearchEvery: 10 };

export interface TrackedDetection extends Detection {
  /** Faces counted by the latest full search (ROI frames only see the tracked face). */
  readonly faceCount: number;
  readonly mode: 'full' | 'roi';
}

/**
 * Per-stream detection: a full search, then cheap searches near the last face (`detectNear`) for
 * the following frames, with a full search again every `fullSearchEvery` frames or as soon as the
 * face is lost. One tracker per live session; the detector itself is shared.
 */
export class FaceTracker {
  readonly options: Readonly<Required<FaceTrackerOptions>>;
  readonly #detector: HaarDetector;
  #last: Rect | null = null;
  #lastFullCount = 0;
  #sinceFull = Infinity;

  constructor(detector: HaarDetector, options: FaceTrackerOptions = {}) {
    this.options = { ...DEFAULT_FACE_TRACKER_OPTIONS, ...options };
    if (!(Number.isInteger(this.options.fullSearchEvery) && this.options.fullSearchEvery >= 1)) {
      throw new TypeError('fullSearchEvery must be an integer ≥ 1');
    }
    this.#detector = detector;
  }

  detect(frame: GrayImage): TrackedDetection {
    if (this.#last !== null && this.#sinceFull < this.options.fullSearchEvery) {
      const near = this.#detector.detectNear(frame, this.#last);
      if (near.faces.length > 0) {
        this.#sinceFull++;
        this.#last = near.faces[0]!;
        return { ...near, faceCount: Math.max(this.#lastFullCount, 1), mode: 'roi' };
      }
    }
    const full = this.#detector.detect(frame);
    this.#sinceFull = 1;
    this.#last = full.faces[0] ?? null;
    this.#lastFullCount = full.faces.length;
    return { ...full, faceCount: full.faces.length, mode: 'full' };
  }

  reset(): void {
    this.#last = null;
    this.#sinceFull = Infinity;
  }
}
