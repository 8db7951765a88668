import type { Verdict } from '@fv/protocol';

/** Most score points a session keeps. */
export const MAX_SCORE_HISTORY = 600;

/** One analysed frame, as the operator dashboard plots it. */
export interface ScorePoint {
  readonly frameId: number;
  /** When the score was emitted (ms, wall clock). */
  readonly t: number;
  readonly distance: number | null;
  readonly smoothedDistance: number | null;
  readonly similarity: number | null;
  readonly verdict: Verdict;
  /** Frame → score time, ms. */
  readonly latencyMs: number;
}

/** A session's recent score points, a ring buffer of `size` (bounded whatever the session's length). */
export class ScoreHistory {
  readonly size: number;
  readonly #points: ScorePoint[] = [];
  /** The oldest point's index once the ring is full. */
  #start = 0;

  constructor(size: number = MAX_SCORE_HISTORY) {
    if (!(Number.isInteger(size) && size >= 1 && size <= MAX_SCORE_HISTORY)) {
      throw new TypeError(`historySize must be an integer in [1, ${MAX_SCORE_HISTORY}]`);
    }
    this.size = size;
  }

  add(point: ScorePoint): void {
    if (this.#points.length < this.size) {
      this.#points.push(point);
    } else {
      this.#points[this.#start] = point;
      this.#start = (this.#start + 1) % this.size;
    }
  }

  /** The last `limit` points, oldest first. */
  last(limit: number = this.size): ScorePoint[] {
    const n = this.#points.length;
    const take = Math.max(0, Math.min(limit, n));
    const out: ScorePoint[] = new Array<ScorePoint>(take);
    for (let i = 0; i < take; i++) out[i] = this.#points[(this.#start + n - take + i) % n]!;
    return out;
  }

  /** Points emitted after `t` (ms, wall clock). */
  countAfter(t: number): number {
    const n = this.#points.length;
    let count = 0;
    for (let i = n - 1; i >= 0 && this.#points[(this.#start + i) % n]!.t > t; i--) count++;
    return count;
  }
}
