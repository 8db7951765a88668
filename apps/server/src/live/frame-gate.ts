import { LIVE_LIMITS } from '@fv/protocol';

/** What happened to a frame offered to a session. */
export type FrameDecision = 'accepted' | 'dropped_busy' | 'dropped_rate' | 'dropped_closed';

/** A JPEG frame against the per-second cap: let through, refused, or the first refused this second. */
export type JpegAdmission = 'ok' | 'over' | 'over_first';

export interface FrameGateOptions {
  /** The session's analysis interval now, ms (1000 / its rate, which rate control moves). */
  intervalMs: () => number;
  /** Wall clock in ms, the clock capture times are on. @defaultValue Date.now */
  now?: () => number;
  /**
   * JPEG frames a session may send per second before the extras are refused (twice the top
   * rate). @defaultValue {@link DEFAULT_FRAME_GATE_OPTIONS}.maxJpegPerSecond
   */
  maxJpegPerSecond?: number;
}

export const DEFAULT_FRAME_GATE_OPTIONS = { maxJpegPerSecond: LIVE_LIMITS.maxFps * 2 } as const;

/** A frame up to this fraction of an interval early is due: absorbs capture jitter. */
export const GRID_SLACK = 0.05;

/**
 * After each frame it sends, the WebRTC host sends none for this fraction of an interval: about
 * the frames the gate will take cross the process boundary, a little early rather than late.
 */
export const HOST_PREFILTER = 0.9;

/**
 * Whether a session takes a frame: one place for every ingest (WebRTC in process or in the host
 * process, JPEG over the socket). Frames are analysed on a fixed grid at the session's rate, at
 * most one in flight, and none after close; JPEG frames are also capped per second. A frame that
 * cannot be taken is dropped (a stale frame is worthless), never queued.
 *
 * An ingest asks first ({@link ask}: before copying or decoding a frame), then offers the frame to
 * the session, which {@link take}s it and {@link release}s it when its analysis settles.
 */
export class FrameGate {
  readonly #intervalMs: () => number;
  readonly #now: () => number;
  readonly #maxJpegPerSecond: number;
  #busy = false;
  #closed = false;
  /** When the next frame is due for analysis (ms, capture clock). */
  #nextDue = -Infinity;
  #received = 0;
  #dropped = 0;
  #jpegWindow = { second: 0, count: 0, warned: false };

  constructor(options: FrameGateOptions) {
    this.#intervalMs = options.intervalMs;
    this.#now = options.now ?? Date.now;
    this.#maxJpegPerSecond = options.maxJpegPerSecond ?? DEFAULT_FRAME_GATE_OPTIONS.maxJpegPerSecond;
    if (!(Number.isInteger(this.#maxJpegPerSecond) && this.#maxJpegPerSecond >= 1)) {
      throw new TypeError('maxJpegPerSecond must be an integer ≥ 1');
    }
  }

  /**
   * Frames offered, and those of them dropped. A frame counts once, whether {@link ask} turned it
   * away or {@link take} took or refused it. Frames between the grid's due times are skipped by
   * design, not dropped: only a frame that was due but could not be taken (the previous one still
   * in flight, or the session closed) is a drop.
   */
  get counts(): { readonly received: number; readonly dropped: number } {
    return { received: this.#received, dropped: this.#dropped };
  }

  /**
   * Whether a frame captured at `capturedAt` would be taken, without taking it (lets an ingest skip
   * copying or decoding it). A frame turned away here is counted; the ingest does not offer it again.
   */
  ask(capturedAt: number = this.#now()): FrameDecision {
    const decision = this.#decide(capturedAt);
    if (decision !== 'accepted') this.#count(decision);
    return decision;
  }

  /** Takes the frame if it is due and none is in flight; {@link release} when its analysis settles. */
  take(capturedAt: number = this.#now()): FrameDecision {
    const decision = this.#decide(capturedAt);
    this.#count(decision);
    if (decision !== 'accepted') return decision;
    this.#busy = true;
    // Due times advance on a fixed grid, so a 15 fps source still yields 10 analysed fps; after a
    // gap longer than one interval the grid restarts at this frame (no burst to catch up).
    const interval = this.#intervalMs();
    const base = capturedAt - this.#nextDue > interval ? capturedAt : this.#nextDue;
    this.#nextDue = base + interval;
    return 'accepted';
  }

  /** The frame in flight has been analysed (or failed): the next due one may be taken. */
  release(): void {
    this.#busy = false;
  }

  /**
   * Counts a JPEG frame against the per-second cap. Past it the frame is refused (`over`), and the
   * first refused in a second is `over_first`: the client is told once a second, not per frame.
   */
  admitJpeg(at: number = this.#now()): JpegAdmission {
    const second = Math.floor(at / 1000);
    if (second !== this.#jpegWindow.second) this.#jpegWindow = { second, count: 0, warned: false };
    if (++this.#jpegWindow.count <= this.#maxJpegPerSecond) return 'ok';
    if (this.#jpegWindow.warned) return 'over';
    this.#jpegWindow.warned = true;
    return 'over_first';
  }

  /**
   * The earliest capture time the WebRTC host should send a frame for, asked after each frame it
   * sent: {@link HOST_PREFILTER} of an interval from now. The host's pre-filter only thins the
   * frames; this gate still decides each one.
   */
  notBefore(): number {
    return this.#now() + this.#intervalMs() * HOST_PREFILTER;
  }

  /** Every frame from now on is `dropped_closed`. Idempotent. */
  close(): void {
    this.#closed = true;
  }

  #decide(capturedAt: number): FrameDecision {
    if (this.#closed) return 'dropped_closed';
    if (this.#busy) return 'dropped_busy';
    if (capturedAt < this.#nextDue - this.#intervalMs() * GRID_SLACK) return 'dropped_rate';
    return 'accepted';
  }

  #count(decision: FrameDecision): void {
    this.#received++;
    if (decision === 'dropped_busy' || decision === 'dropped_closed') this.#dropped++;
  }
}
