import { EventEmitter } from 'node:events';
import {
  VerdictTracker,
  euclideanDistance,
  similarityFromDistance,
  roundRect,
  type GrayImage,
  type LogisticCalibration,
  type VerdictTrackerOptions,
} from '@fv/core';
import { LIVE_LIMITS, type LiveVerdict, type ScoreMessage } from '@fv/protocol';
import type { FrameAnalysis, FramePipeline, FrameStream } from './frame-pipeline.ts';
import { nextRate, type RateShare } from './rate-control.ts';

export interface LiveSessionOptions {
  id: string;
  pipeline: FramePipeline;
  threshold: number;
  calibration: LogisticCalibration;
  /** Reference embedding; frames are analysed but not scored until one is set. */
  reference?: Float32Array | null;
  /** Frames analysed per second at most. @defaultValue 10 */
  fps?: number;
  verdict?: Omit<VerdictTrackerOptions, 'threshold'>;
  /**
   * Backpressure: when the smoothed frame→score latency exceeds this, the session lowers its own
   * analysis rate (down to `minFps`) and raises it again once latency recovers. @defaultValue 150
   */
  targetLatencyMs?: number;
  /** @defaultValue 2 */
  minFps?: number;
  /** Wall clock in ms (tests inject one). @defaultValue Date.now */
  now?: () => number;
  /** Score points kept for the operator dashboard (a ring buffer). @defaultValue 600 */
  historySize?: number;
  /**
   * The server's other live sessions' rates: a session held back further than the others by an
   * overload climbs towards their median once latency is not over target (rate-control.ts).
   */
  rateShare?: RateShare;
}

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
  readonly verdict: LiveVerdict;
  /** Frame → score time, ms. */
  readonly latencyMs: number;
}

/** How frames reach the session; set by whoever feeds it. */
export type FrameTransport = 'webrtc' | 'jpeg';

export interface RateChange {
  readonly fps: number;
  readonly requestedFps: number;
  readonly degraded: boolean;
  readonly reason: string;
}

export type FrameDecision = 'accepted' | 'dropped_busy' | 'dropped_rate' | 'dropped_closed';

export interface FrameReport {
  readonly analysis: FrameAnalysis;
  readonly score: ScoreMessage;
  readonly endToEndMs: number;
}

/**
 * One live verification: frames in (from WebRTC or JPEG), score events out. At most one frame is
 * in flight; frames that arrive while one is analysed, or faster than the analysis rate, are
 * dropped (a stale frame is worthless), never queued.
 *
 * @fires score — a {@link FrameReport} per analysed frame
 * @fires frameError — an analysis failed (the session goes on with the next frame)
 * @fires closed
 */
export class LiveSession extends EventEmitter<{
  score: [FrameReport];
  frameError: [unknown];
  rate: [RateChange];
  closed: [];
}> {
  readonly id: string;
  readonly #threshold: number;
  readonly #calibration: LogisticCalibration;
  readonly #tracker: VerdictTracker;
  readonly #stream: FrameStream;
  readonly #now: () => number;
  #reference: Float32Array | null;
  #fps: number;
  #requestedFps: number;
  readonly #targetLatencyMs: number;
  readonly #minFps: number;
  #latencyEma: number | null = null;
  #lastRateChange = -Infinity;
  #busy = false;
  /** When the next frame is due for analysis (ms, capture clock). */
  #nextDue = -Infinity;
  #frameId = 0;
  #closed = false;
  #captureNext: ((embedding: Float32Array) => void) | null = null;
  /** Ring buffer of recent score points: `#historyStart` is the oldest once it is full. */
  readonly #history: ScorePoint[] = [];
  readonly #historySize: number;
  #historyStart = 0;
  #framesReceived = 0;
  #framesDropped = 0;
  readonly #rateShare: RateShare | null;
  /** How frames arrive, for operators; null until the feeder says. */
  transport: FrameTransport | null = null;

  constructor(options: LiveSessionOptions) {
    super();
    this.id = options.id;
    this.#threshold = options.threshold;
    this.#calibration = options.calibration;
    this.#tracker = new VerdictTracker({ threshold: options.threshold, ...options.verdict });
    this.#stream = options.pipeline.openStream();
    this.#reference = options.reference ?? null;
    this.#now = options.now ?? Date.now;
    this.#fps = LiveSession.#checkFps(options.fps ?? 10);
    this.#requestedFps = this.#fps;
    this.#targetLatencyMs = options.targetLatencyMs ?? 150;
    this.#minFps = Math.min(options.minFps ?? 2, this.#fps);
    this.#historySize = options.historySize ?? MAX_SCORE_HISTORY;
    if (!(
      Number.isInteger(this.#historySize) &&
      this.#historySize >= 1 &&
      this.#historySize <= MAX_SCORE_HISTORY
    )) {
      throw new TypeError(`historySize must be an integer in [1, ${MAX_SCORE_HISTORY}]`);
    }
    this.#rateShare = options.rateShare ?? null;
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

  get enrolled(): boolean {
    return this.#reference !== null;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the session runs below the requested rate because the server is behind. */
  get degraded(): boolean {
    return this.#fps < this.#requestedFps;
  }

  /**
   * Frames offered to the session, and those of them it dropped. A frame counts once, whether
   * `wouldAccept` turned it away or `handleFrame` took or refused it.
   */
  get frameCounts(): { readonly received: number; readonly dropped: number } {
    return { received: this.#framesReceived, dropped: this.#framesDropped };
  }

  /** The last `limit` score points (all kept, at most `historySize`), oldest first. */
  history(limit: number = this.#historySize): ScorePoint[] {
    const n = this.#history.length;
    const take = Math.max(0, Math.min(limit, n));
    const out: ScorePoint[] = new Array<ScorePoint>(take);
    for (let i = 0; i < take; i++) out[i] = this.#history[(this.#historyStart + n - take + i) % n]!;
    return out;
  }

  /** Frames analysed per second over the last `windowMs` of wall clock (measured, not the target). */
  analysedFps(windowMs = 2000): number {
    const since = this.#now() - windowMs;
    const n = this.#history.length;
    let count = 0;
    for (let i = n - 1; i >= 0 && this.#history[(this.#historyStart + i) % n]!.t > since; i--) count++;
    return (count * 1000) / windowMs;
  }

  #remember(point: ScorePoint): void {
    if (this.#history.length < this.#historySize) {
      this.#history.push(point);
    } else {
      this.#history[this.#historyStart] = point;
      this.#historyStart = (this.#historyStart + 1) % this.#historySize;
    }
  }

  /**
   * The client's requested analysis rate. While the server has lowered the rate (degraded) a
   * request can only lower it further: the server's backpressure is not the client's to undo; the
   * rate climbs back to the request by itself once latency allows.
   */
  handleConfig(fps: number): void {
    const requested = LiveSession.#checkFps(fps);
    // Degraded as things stood before this request (after it, any raise would look degraded).
    const degraded = this.degraded;
    this.#requestedFps = requested;
    if (degraded && requested > this.#fps) return;
    this.#setFps(requested);
    this.#latencyEma = null;
  }

  /**
   * Lowers the rate while latency is over target, restores it once latency is well under, and lets
   * a session left behind the others catch up (rate-control.ts).
   */
  #adapt(endToEndMs: number): void {
    this.#latencyEma = this.#latencyEma === null ? endToEndMs : 0.3 * endToEndMs + 0.7 * this.#latencyEma;
    const now = performance.now();
    if (now - this.#lastRateChange < 1000) return;
    const change = nextRate({
      fps: this.#fps,
      requestedFps: this.#requestedFps,
      minFps: this.#minFps,
      latencyEma: this.#latencyEma,
      targetLatencyMs: this.#targetLatencyMs,
      othersMedianFps: this.#rateShare?.medianExcept(this) ?? null,
    });
    if (!change || change.fps === this.#fps) return;
    this.#setFps(change.fps);
    this.#lastRateChange = now;
    this.emit('rate', {
      fps: change.fps,
      requestedFps: this.#requestedFps,
      degraded: this.degraded,
      reason: change.reason,
    });
  }

  #setFps(fps: number): void {
    this.#fps = fps;
    if (!this.#closed) this.#rateShare?.set(this, fps);
  }

  setReference(embedding: Float32Array): void {
    this.#reference = embedding;
    this.#tracker.reset();
  }

  /** Enrols the face of the next analysed single-face frame ("use the current frame"). */
  enrollFromNextFrame(): Promise<Float32Array> {
    return new Promise((resolve) => {
      this.#captureNext = (embedding) => {
        this.setReference(embedding);
        resolve(embedding);
      };
    });
  }

  /**
   * Whether a frame captured at `capturedAt` would be analysed (lets callers skip decoding it). A
   * frame turned away here counts as received and dropped; callers do not offer it again.
   */
  wouldAccept(capturedAt: number = this.#now()): FrameDecision {
    const decision = this.#decide(capturedAt);
    if (decision !== 'accepted') this.#count(decision);
    return decision;
  }

  #count(decision: FrameDecision): void {
    this.#framesReceived++;
    // Frames between the sampling grid's due times are skipped by design, not dropped: only a
    // frame that was due but could not be taken (the previous one still in flight) is a drop.
    if (decision === 'dropped_busy' || decision === 'dropped_closed') this.#framesDropped++;
  }

  #decide(capturedAt: number): FrameDecision {
    if (this.#closed) return 'dropped_closed';
    if (this.#busy) return 'dropped_busy';
    // 5% slack absorbs capture jitter.
    if (capturedAt < this.#nextDue - (1000 / this.#fps) * 0.05) return 'dropped_rate';
    return 'accepted';
  }

  /** Offers a decoded frame; returns at once with what happened to it. */
  handleFrame(frame: GrayImage, capturedAt: number = this.#now()): FrameDecision {
    const decision = this.#decide(capturedAt);
    this.#count(decision);
    if (decision !== 'accepted') return decision;
    this.#busy = true;
    // Due times advance on a fixed grid, so a 15 fps source still yields 10 analysed fps; after a
    // gap longer than one interval the grid restarts at this frame (no burst to catch up).
    const interval = 1000 / this.#fps;
    const base = capturedAt - this.#nextDue > interval ? capturedAt : this.#nextDue;
    this.#nextDue = base + interval;
    const frameId = this.#frameId++;
    const started = performance.now();
    void this.#stream
      .analyze(frame)
      .then((analysis) => {
        if (this.#closed) return;
        this.#emitScore(frameId, capturedAt, analysis, performance.now() - started);
      })
      .catch((error: unknown) => {
        if (!this.#closed) this.emit('frameError', error);
      })
      .finally(() => {
        this.#busy = false;
      });
    return 'accepted';
  }

  #emitScore(frameId: number, capturedAt: number, analysis: FrameAnalysis, endToEndMs: number): void {
    if (this.#captureNext && analysis.faceCount === 1 && analysis.embedding) {
      const capture = this.#captureNext;
      this.#captureNext = null;
      capture(analysis.embedding);
    }
    let distance: number | null = null;
    let update;
    if (analysis.faceCount === 1 && analysis.embedding && this.#reference) {
      distance = euclideanDistance(analysis.embedding, this.#reference);
      update = this.#tracker.observe(1, distance);
    } else if (analysis.faceCount !== 1) {
      update = this.#tracker.observe(analysis.faceCount);
    }
    const smoothed = update?.smoothedDistance ?? null;
    const score: ScoreMessage = {
      type: 'score',
      frameId,
      capturedAt,
      emittedAt: this.#now(),
      box: analysis.box ? roundRect(analysis.box) : null,
      faceCount: analysis.faceCount,
      quality: analysis.quality,
      distance,
      smoothedDistance: smoothed,
      similarity: smoothed === null ? null : similarityFromDistance(smoothed, this.#calibration),
      verdict: this.#reference ? this.#tracker.verdict : 'pending',
      threshold: this.#threshold,
    };
    this.#remember({
      frameId,
      t: score.emittedAt,
      distance,
      smoothedDistance: smoothed,
      similarity: score.similarity,
      verdict: score.verdict,
      latencyMs: endToEndMs,
    });
    this.emit('score', { analysis, score, endToEndMs });
    this.#adapt(endToEndMs);
  }

  /** Stops scoring; late results are discarded. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#captureNext = null;
    this.#rateShare?.delete(this);
    this.#stream.close();
    this.emit('closed');
    this.removeAllListeners();
  }
}
