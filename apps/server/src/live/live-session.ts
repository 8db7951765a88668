import { EventEmitter } from 'node:events';
import {
  VerdictTracker,
  type FaceTracker,
  euclideanDistance,
  similarityFromDistance,
  type GrayImage,
  type LogisticCalibration,
  type VerdictTrackerOptions,
} from '@fv/core';
import { LIVE_LIMITS, type ScoreMessage } from '@fv/protocol';
import type { FrameAnalysis, FramePipeline } from './frame-pipeline.ts';

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
  /** Wall clock in ms (tests inject one). @defaultValue Date.now */
  now?: () => number;
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
  closed: [];
}> {
  readonly id: string;
  readonly #pipeline: FramePipeline;
  readonly #threshold: number;
  readonly #calibration: LogisticCalibration;
  readonly #tracker: VerdictTracker;
  readonly #faces: FaceTracker;
  readonly #now: () => number;
  #reference: Float32Array | null;
  #fps: number;
  #busy = false;
  #lastAcceptedAt = -Infinity;
  #frameId = 0;
  #closed = false;
  #latest: FrameReport | null = null;
  #captureNext: ((embedding: Float32Array) => void) | null = null;

  constructor(options: LiveSessionOptions) {
    super();
    this.id = options.id;
    this.#pipeline = options.pipeline;
    this.#threshold = options.threshold;
    this.#calibration = options.calibration;
    this.#tracker = new VerdictTracker({ threshold: options.threshold, ...options.verdict });
    this.#faces = options.pipeline.createTracker();
    this.#reference = options.reference ?? null;
    this.#now = options.now ?? Date.now;
    this.#fps = LiveSession.#checkFps(options.fps ?? 10);
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

  get latest(): FrameReport | null {
    return this.#latest;
  }

  get closed(): boolean {
    return this.#closed;
  }

  handleConfig(fps: number): void {
    this.#fps = LiveSession.#checkFps(fps);
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

  /** Whether a frame captured at `capturedAt` would be analysed (lets callers skip decoding it). */
  wouldAccept(capturedAt: number = this.#now()): FrameDecision {
    if (this.#closed) return 'dropped_closed';
    if (this.#busy) return 'dropped_busy';
    // A 10% tolerance keeps a 10 fps camera from losing every other frame to jitter.
    if (capturedAt - this.#lastAcceptedAt < (1000 / this.#fps) * 0.9) return 'dropped_rate';
    return 'accepted';
  }

  /** Offers a decoded frame; returns at once with what happened to it. */
  handleFrame(frame: GrayImage, capturedAt: number = this.#now()): FrameDecision {
    const decision = this.wouldAccept(capturedAt);
    if (decision !== 'accepted') return decision;
    this.#busy = true;
    this.#lastAcceptedAt = capturedAt;
    const frameId = this.#frameId++;
    const started = performance.now();
    void this.#pipeline
      .analyze(frame, this.#faces)
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
    const round = (v: number): number => Math.round(v * 10) / 10;
    const score: ScoreMessage = {
      type: 'score',
      frameId,
      capturedAt,
      emittedAt: this.#now(),
      box: analysis.box
        ? {
            x: round(analysis.box.x),
            y: round(analysis.box.y),
            width: round(analysis.box.width),
            height: round(analysis.box.height),
          }
        : null,
      faceCount: analysis.faceCount,
      quality: analysis.quality,
      distance,
      smoothedDistance: smoothed,
      similarity: smoothed === null ? null : similarityFromDistance(smoothed, this.#calibration),
      verdict: this.#reference ? this.#tracker.verdict : 'pending',
      threshold: this.#threshold,
    };
    this.#latest = { analysis, score, endToEndMs };
    this.emit('score', this.#latest);
  }

  /** Stops scoring; late results are discarded. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#captureNext = null;
    this.emit('closed');
    this.removeAllListeners();
  }
}
