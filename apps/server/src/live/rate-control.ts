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
import { LIVE_LIMITS } from '@fv/protocol';

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

/** A session's rate moved by backpressure, as the client is told. */
export interface RateChange {
  readonly fps: number;
  readonly requestedFps: number;
  readonly degraded: boolean;
  readonly reason: string;
}

export interface SessionRateOptions {
  /** The starting rate (and request), in [LIVE_LIMITS.minFps, LIVE_LIMITS.maxFps]. */
  fps: number;
  /** The floor backpressure lowers to (at most `fps`). */
  minFps: number;
  /** Smoothed frame→score latency over this lowers the rate. */
  targetLatencyMs: number;
  /** The server's other sessions' rates, or null to go alone. */
  rateShare: RateShare | null;
}

/**
 * One session's analysis rate: the client's request, lowered by {@link nextRate} while latency is
 * over target and raised again once it recovers, at most once a second. Registered in the
 * {@link RateShare} until {@link close}.
 */
export class SessionRate {
  #fps: number;
  #requestedFps: number;
  readonly #minFps: number;
  readonly #targetLatencyMs: number;
  readonly #rateShare: RateShare | null;
  #latencyEma: number | null = null;
  #lastChange = -Infinity;
  #closed = false;

  constructor(options: SessionRateOptions) {
    this.#fps = SessionRate.#checkFps(options.fps);
    this.#requestedFps = this.#fps;
    this.#minFps = Math.min(options.minFps, this.#fps);
    this.#targetLatencyMs = options.targetLatencyMs;
    this.#rateShare = options.rateShare;
    this.#rateShare?.set(this, this.#fps);
  }

  static #checkFps(fps: number): number {
    if (!(fps >= LIVE_LIMITS.minFps && fps <= LIVE_LIMITS.maxFps)) {
      throw new TypeError(`fps must be in [${LIVE_LIMITS.minFps}, ${LIVE_LIMITS.maxFps}]`);
    }
    return fps;
  }

  get fps(): number {
    return this.#fps;
  }

  /** Whether the rate is below the request because the server is behind. */
  get degraded(): boolean {
    return this.#fps < this.#requestedFps;
  }

  /**
   * The client's requested rate. While degraded a request can only lower the rate: the server's
   * backpressure is not the client's to undo; the rate climbs back to the request by itself.
   */
  request(fps: number): void {
    const requested = SessionRate.#checkFps(fps);
    // Degraded as things stood before this request (after it, any raise would look degraded).
    const degraded = this.degraded;
    this.#requestedFps = requested;
    if (degraded && requested > this.#fps) return;
    this.#set(requested);
    this.#latencyEma = null;
  }

  /**
   * One frame's frame→score latency, observed at `now` (ms, monotonic): lowers the rate while the
   * smoothed latency is over target, restores it once well under, and lets a session left behind
   * the others catch up. Returns the change, if any.
   */
  observe(endToEndMs: number, now: number): RateChange | null {
    this.#latencyEma = this.#latencyEma === null ? endToEndMs : 0.3 * endToEndMs + 0.7 * this.#latencyEma;
    if (now - this.#lastChange < 1000) return null;
    const change = nextRate({
      fps: this.#fps,
      requestedFps: this.#requestedFps,
      minFps: this.#minFps,
      latencyEma: this.#latencyEma,
      targetLatencyMs: this.#targetLatencyMs,
      othersMedianFps: this.#rateShare?.medianExcept(this) ?? null,
    });
    if (!change || change.fps === this.#fps) return null;
    this.#set(change.fps);
    this.#lastChange = now;
    return {
      fps: change.fps,
      requestedFps: this.#requestedFps,
      degraded: this.degraded,
      reason: change.reason,
    };
  }

  #set(fps: number): void {
    this.#fps = fps;
    if (!this.#closed) this.#rateShare?.set(this, fps);
  }

  /** Leaves the rate share. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#rateShare?.delete(this);
  }
}
