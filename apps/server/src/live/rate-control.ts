/**
 * The analysis-rate rule of live sessions under backpressure, and the shared view of the other
 * sessions' rates that keeps it fair.
 *
 * Each session lowers its rate by the same factor while latency is over target and raises it by
 * the same factor once latency is well under. Multiplying up and down keeps the ratios between
 * sessions, so sessions that happened to step down once more than the others (their one-second
 * timers fire at different moments) stayed behind for as long as the overload lasted. A session
 * that is well below the other sessions' median rate, while latency is not over target, therefore
 * climbs towards that median: the shares converge instead of staying where the timing left them.
 */

/** The analysis rates of one server's live sessions. */
export class RateShare {
  readonly #rates = new Map<object, number>();

  /** Records (or updates) a member's current analysis rate. */
  set(member: object, fps: number): void {
    this.#rates.set(member, fps);
  }

  delete(member: object): void {
    this.#rates.delete(member);
  }

  get size(): number {
    return this.#rates.size;
  }

  /** The median rate of every member but `member`, or null when there is no other member. */
  medianExcept(member: object): number | null {
    const others: number[] = [];
    for (const [m, fps] of this.#rates) if (m !== member) others.push(fps);
    if (others.length === 0) return null;
    others.sort((a, b) => a - b);
    const mid = others.length >> 1;
    return others.length % 2 === 1 ? others[mid]! : (others[mid - 1]! + others[mid]!) / 2;
  }
}

export interface RateState {
  readonly fps: number;
  readonly requestedFps: number;
  readonly minFps: number;
  /** Smoothed frame→score latency, ms. */
  readonly latencyEma: number;
  readonly targetLatencyMs: number;
  /** The other sessions' median rate, or null when the session is alone or shares with none. */
  readonly othersMedianFps: number | null;
}

/** A session below this fraction of the others' median rate is behind, and may catch up. */
export const CATCH_UP_BELOW = 0.8;

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** The rate a session moves to, with the reason operators see; null to stay where it is. */
export function nextRate(s: RateState): { fps: number; reason: string } | null {
  if (s.latencyEma > s.targetLatencyMs && s.fps > s.minFps) {
    const fps = Math.max(s.minFps, round1(s.fps * 0.7));
    return {
      fps,
      reason: `frame→score ${Math.round(s.latencyEma)} ms is over ${s.targetLatencyMs} ms: analysing ${fps} fps`,
    };
  }
  if (s.fps >= s.requestedFps) return null;
  if (s.latencyEma < s.targetLatencyMs / 3) {
    const fps = Math.min(s.requestedFps, round1(s.fps * 1.25));
    return {
      fps,
      reason: fps === s.requestedFps ? `recovered: analysing ${fps} fps` : `recovering: analysing ${fps} fps`,
    };
  }
  const median = s.othersMedianFps;
  if (s.latencyEma <= s.targetLatencyMs && median !== null && s.fps < CATCH_UP_BELOW * median) {
    const fps = Math.min(s.requestedFps, median, round1(s.fps * 1.25));
    if (fps <= s.fps) return null;
    return { fps, reason: `recovering towards the other sessions' ${median} fps: analysing ${fps} fps` };
  }
  return null;
}
