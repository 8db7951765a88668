import type { Verdict } from '@fv/protocol';

/** What a live session currently concludes (the protocol's `Verdict`). */
export type { Verdict };

export interface VerdictTrackerOptions {
  /** Match threshold on distance (from the model manifest). */
  threshold: number;
  /** EMA weight of the newest distance. @defaultValue 0.35 */
  alpha?: number;
  /**
   * Dead band around the threshold: a `matched` verdict turns `not_matched` only above
   * threshold + hysteresis, and back only below threshold − hysteresis. @defaultValue 0.03
   */
  hysteresis?: number;
  /** Single-face frames needed before the first verdict. @defaultValue 3 */
  minObservations?: number;
  /** Consecutive frames without a face (or with several) before saying so. @defaultValue 3 */
  confirmFrames?: number;
}

export const DEFAULT_VERDICT_OPTIONS = {
  alpha: 0.35,
  hysteresis: 0.03,
  minObservations: 3,
  confirmFrames: 3,
} as const;

export interface VerdictUpdate {
  readonly verdict: Verdict;
  /** Smoothed distance, or null while there is no current single-face run. */
  readonly smoothedDistance: number | null;
  readonly changed: boolean;
}

/**
 * Temporal smoothing (EMA over a run of single-face frames) with hysteresis, so the verdict
 * neither flickers around the threshold nor reacts to one bad frame. Losing the face or seeing
 * several faces for `confirmFrames` frames ends the run: the next person must earn a verdict anew.
 * Pure and synchronous.
 */
export class VerdictTracker {
  readonly options: Readonly<Required<VerdictTrackerOptions>>;
  #verdict: Verdict = 'pending';
  #ema: number | null = null;
  #observations = 0;
  #absent = 0;
  #multiple = 0;

  constructor(options: VerdictTrackerOptions) {
    const opts = { ...DEFAULT_VERDICT_OPTIONS, ...options };
    if (!(opts.threshold > 0 && Number.isFinite(opts.threshold)))
      throw new TypeError('threshold must be a positive number');
    if (!(opts.alpha > 0 && opts.alpha <= 1)) throw new TypeError('alpha must be in (0, 1]');
    if (!(opts.hysteresis >= 0 && opts.hysteresis < opts.threshold))
      throw new TypeError('hysteresis must be in [0, threshold)');
    if (!(Number.isInteger(opts.minObservations) && opts.minObservations >= 1))
      throw new TypeError('minObservations must be ≥ 1');
    if (!(Number.isInteger(opts.confirmFrames) && opts.confirmFrames >= 1))
      throw new TypeError('confirmFrames must be ≥ 1');
    this.options = opts;
  }

  get verdict(): Verdict {
    return this.#verdict;
  }

  get smoothedDistance(): number | null {
    return this.#ema;
  }

  /** Feeds one analysed frame: how many faces it had and, for one face, its distance. */
  observe(faceCount: number, distance?: number): VerdictUpdate {
    if (!(Number.isInteger(faceCount) && faceCount >= 0))
      throw new TypeError('faceCount must be a non-negative integer');
    const before = this.#verdict;
    if (faceCount === 0) {
      this.#multiple = 0;
      if (++this.#absent >= this.options.confirmFrames) this.#endRun('no_face');
    } else if (faceCount > 1) {
      this.#absent = 0;
      if (++this.#multiple >= this.options.confirmFrames) this.#endRun('multiple_faces');
    } else {
      if (distance === undefined || !Number.isFinite(distance) || distance < 0) {
        throw new TypeError('a single-face frame needs a finite distance ≥ 0');
      }
      this.#absent = 0;
      this.#multiple = 0;
      this.#ema =
        this.#ema === null ? distance : this.options.alpha * distance + (1 - this.options.alpha) * this.#ema;
      this.#observations++;
      this.#decide();
    }
    return { verdict: this.#verdict, smoothedDistance: this.#ema, changed: this.#verdict !== before };
  }

  #endRun(verdict: 'no_face' | 'multiple_faces'): void {
    this.#verdict = verdict;
    this.#ema = null;
    this.#observations = 0;
  }

  #decide(): void {
    const ema = this.#ema!;
    const { threshold, hysteresis, minObservations } = this.options;
    if (this.#verdict === 'matched') {
      if (ema > threshold + hysteresis) this.#verdict = 'not_matched';
    } else if (this.#verdict === 'not_matched') {
      if (ema < threshold - hysteresis) this.#verdict = 'matched';
    } else if (this.#observations >= minObservations) {
      this.#verdict = ema <= threshold ? 'matched' : 'not_matched';
    } else {
      this.#verdict = 'pending';
    }
  }

  /** Back to `pending` (e.g. after re-enrolment). */
  reset(): void {
    this.#verdict = 'pending';
    this.#ema = null;
    this.#observations = 0;
    this.#absent = 0;
    this.#multiple = 0;
  }
}
