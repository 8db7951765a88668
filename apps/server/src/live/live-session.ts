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
import type { ChallengeMessage, Decision, LivenessState, ScoreMessage, Transport } from '@fv/protocol';
import type { FrameAnalyser, FrameAnalysis } from './frame-analyser.ts';
import { FrameGate, type FrameDecision } from './frame-gate.ts';
import {
  LivenessCheck,
  nextDecision,
  type LivenessCheckOptions,
  type LivenessPolicy,
} from './liveness-check.ts';
import { SessionRate, type RateChange, type RateShare } from './rate-control.ts';
import { MAX_SCORE_HISTORY, ScoreHistory, type ScorePoint } from './score-history.ts';

/**
 * The frame size the live pipeline is built for, told to clients in `welcome` (they capture or
 * send no larger). At 640×480 a face a metre from a laptop camera is 70–90 px wide, above the
 * cascade's and the 62×47 model's needs; at 320×240 the same face is at their limit, while 1280×720
 * would cost three times the decoding and copying for faces already larger than the model reads.
 */
export const ANALYSIS_SIZE = { width: 640, height: 480 } as const;

/** Where a session's result lives: its record in the session store (the one owner of each). */
export interface SessionResult {
  reference: Float32Array | null;
  liveness: LivenessState;
  decision: Decision;
  readonly livenessPolicy: LivenessPolicy;
}

export interface LiveSessionOptions {
  id: string;
  /** The stream's view of the pipeline (`FramePipeline.openStream()`); the session closes it. */
  analyser: FrameAnalyser;
  threshold: number;
  calibration: LogisticCalibration;
  /**
   * The session's record, the one owner of its reference embedding (read for every frame, written
   * by enrolment; frames are analysed but not scored while it holds none), its liveness and its
   * decision (written here after every frame).
   */
  record: SessionResult;
  /** The clock and draw of the session's liveness check (tests inject them). */
  liveness?: LivenessCheckOptions;
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
  /** Wall clock in ms: capture and score times (tests inject one). @defaultValue Date.now */
  now?: () => number;
  /**
   * Monotonic clock in ms: frame→score latency and the spacing of rate changes (tests inject one).
   * @defaultValue performance.now
   */
  monotonicNow?: () => number;
  /** Score points kept for the operator dashboard (a ring buffer). @defaultValue {@link MAX_SCORE_HISTORY} */
  historySize?: number;
  /**
   * The server's other live sessions' rates: a session held back further than the others by an
   * overload climbs towards their median once latency is not over target (rate-control.ts).
   */
  rateShare?: RateShare;
}

/** How frames reach the session; set by whoever feeds it. */

export interface FrameReport {
  readonly analysis: FrameAnalysis;
  readonly score: ScoreMessage;
  readonly endToEndMs: number;
}

/**
 * One live verification: frames in (from WebRTC or JPEG), score events out. Its {@link gate}
 * decides which frames are analysed (at most one in flight, on the analysis-rate grid); every
 * ingest asks it.
 *
 * With active liveness its {@link LivenessCheck} judges the same frames; the record's liveness and
 * decision are updated after each.
 *
 * @fires score — a {@link FrameReport} per analysed frame
 * @fires challenge — a liveness challenge's window opened
 * @fires liveness — the liveness state changed (the record already holds it)
 * @fires frameError — an analysis failed (the session goes on with the next frame)
 * @fires closed
 */
export class LiveSession extends EventEmitter<{
  score: [FrameReport];
  challenge: [ChallengeMessage];
  liveness: [LivenessState];
  frameError: [unknown];
  rate: [RateChange];
  closed: [];
}> {
  readonly id: string;
  readonly #threshold: number;
  readonly #calibration: LogisticCalibration;
  readonly #tracker: VerdictTracker;
  readonly #analyser: FrameAnalyser;
  readonly #now: () => number;
  readonly #monotonicNow: () => number;
  readonly #record: SessionResult;
  readonly #liveness: LivenessCheck;
  /** Which frames are analysed; ingests ask it before copying or decoding a frame. */
  readonly gate: FrameGate;
  readonly #rate: SessionRate;
  #frameId = 0;
  #closed = false;
  #captureNext: ((embedding: Float32Array) => void) | null = null;
  readonly #history: ScoreHistory;
  /** How frames arrive, for operators; null until the feeder says. */
  transport: Transport | null = null;

  constructor(options: LiveSessionOptions) {
    super();
    this.id = options.id;
    this.#threshold = options.threshold;
    this.#calibration = options.calibration;
    this.#tracker = new VerdictTracker({ threshold: options.threshold, ...options.verdict });
    this.#analyser = options.analyser;
    this.#record = options.record;
    this.#now = options.now ?? Date.now;
    this.#monotonicNow = options.monotonicNow ?? (() => performance.now());
    this.#history = new ScoreHistory(options.historySize ?? MAX_SCORE_HISTORY);
    this.#rate = new SessionRate({
      fps: options.fps ?? 10,
      minFps: options.minFps ?? 2,
      targetLatencyMs: options.targetLatencyMs ?? 150,
      rateShare: options.rateShare ?? null,
    });
    this.gate = new FrameGate({ intervalMs: () => 1000 / this.#rate.fps, now: this.#now });
    this.#liveness = new LivenessCheck(this.#record.livenessPolicy, this.#record.liveness, {
      now: this.#now,
      ...options.liveness,
    });
    this.#record.liveness = this.#liveness.state;
    this.#liveness.on('challenge', (message) => this.emit('challenge', message));
    this.#liveness.on('change', (state) => {
      this.#record.liveness = state;
      this.#record.decision = nextDecision(this.#record.decision, this.#tracker.verdict, state);
      this.emit('liveness', state);
    });
  }

  /** Starts another liveness sequence after a failed one; false when the session has none left. */
  retryLiveness(): boolean {
    return this.#liveness.retry();
  }

  get fps(): number {
    return this.#rate.fps;
  }

  get enrolled(): boolean {
    return this.#record.reference !== null;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the session runs below the requested rate because the server is behind. */
  get degraded(): boolean {
    return this.#rate.degraded;
  }

  /** Frames offered to the session, and those of them it dropped (see {@link FrameGate.counts}). */
  get frameCounts(): { readonly received: number; readonly dropped: number } {
    return this.gate.counts;
  }

  /** The last `limit` score points (all kept, at most `historySize`), oldest first. */
  history(limit?: number): ScorePoint[] {
    return this.#history.last(limit);
  }

  /** Frames analysed per second over the last `windowMs` of wall clock (measured, not the target). */
  analysedFps(windowMs = 2000): number {
    return (this.#history.countAfter(this.#now() - windowMs) * 1000) / windowMs;
  }

  /**
   * The client's requested analysis rate. While the server has lowered the rate (degraded) a
   * request can only lower it further; the rate climbs back to the request by itself once latency
   * allows (rate-control.ts).
   */
  handleConfig(fps: number): void {
    this.#rate.request(fps);
  }

  /** Enrols `embedding` (written to the record, which owns it); the verdict starts over. */
  setReference(embedding: Float32Array): void {
    this.#record.reference = embedding;
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

  /** Offers a decoded frame to the {@link gate}; returns at once with what happened to it. */
  handleFrame(frame: GrayImage, capturedAt: number = this.#now()): FrameDecision {
    const decision = this.gate.take(capturedAt);
    if (decision !== 'accepted') return decision;
    const frameId = this.#frameId++;
    const started = this.#monotonicNow();
    void this.#analyser
      .analyse(frame)
      .then((analysis) => {
        if (this.#closed) return;
        this.#emitScore(frameId, capturedAt, analysis, this.#monotonicNow() - started);
      })
      .catch((error: unknown) => {
        if (!this.#closed) this.emit('frameError', error);
      })
      .finally(() => this.gate.release());
    return 'accepted';
  }

  #emitScore(frameId: number, capturedAt: number, analysis: FrameAnalysis, endToEndMs: number): void {
    if (this.#captureNext && analysis.faceCount === 1 && analysis.embedding) {
      const capture = this.#captureNext;
      this.#captureNext = null;
      capture(analysis.embedding);
    }
    const reference = this.#record.reference;
    let distance: number | null = null;
    let update;
    if (analysis.faceCount === 1 && analysis.embedding && reference) {
      distance = euclideanDistance(analysis.embedding, reference);
      update = this.#tracker.observe(1, distance);
    } else if (analysis.faceCount !== 1) {
      update = this.#tracker.observe(analysis.faceCount);
    }
    const smoothed = update?.smoothedDistance ?? null;
    const verdict = reference ? this.#tracker.verdict : 'pending';
    this.#liveness.observe({
      t: capturedAt,
      faceCount: analysis.faceCount,
      matched: verdict === 'matched',
      features: analysis.features,
    });
    const liveness = this.#record.liveness;
    this.#record.decision = nextDecision(this.#record.decision, verdict, liveness);
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
      verdict,
      threshold: this.#threshold,
      liveness: liveness.status,
      decision: this.#record.decision,
    };
    this.#history.add({
      frameId,
      t: score.emittedAt,
      distance,
      smoothedDistance: smoothed,
      similarity: score.similarity,
      verdict: score.verdict,
      latencyMs: endToEndMs,
    });
    this.emit('score', { analysis, score, endToEndMs });
    // Lowers the rate while latency is over target, restores it once well under (rate-control.ts).
    const change = this.#rate.observe(endToEndMs, this.#monotonicNow());
    if (change) this.emit('rate', change);
  }

  /** Stops scoring; late results are discarded. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#captureNext = null;
    this.#rate.close();
    this.#liveness.close();
    this.gate.close();
    this.#analyser.close();
    this.emit('closed');
    this.removeAllListeners();
  }
}
