import type { GrayImage } from '@fv/core';
import { describe, expect, it } from 'vitest';
import type { FrameAnalyser, FrameAnalysis } from './frame-analyser.ts';
import {
  LiveSession,
  type FrameReport,
  type LiveSessionOptions,
  type SessionResult,
} from './live-session.ts';
import { initialLiveness, type LivenessPolicy } from './liveness-check.ts';
import type { RateChange } from './rate-control.ts';

const frame: GrayImage = { width: 4, height: 4, data: new Uint8Array(16) };
const unit = (i: number): Float32Array => {
  const e = new Float32Array(8);
  e[i] = 1;
  return e;
};

const LIVENESS_OFF_POLICY: LivenessPolicy = {
  mode: 'off',
  actions: ['smile'],
  challenges: 1,
  retries: 0,
  windowMs: 4000,
  neutralMs: 1000,
};

/** One face, embedded as `embedding`. */
const face = (embedding: Float32Array = unit(0)): FrameAnalysis => ({
  faceCount: 1,
  box: { x: 1, y: 1, width: 2, height: 2 },
  quality: [],
  embedding,
  features: null,
  detectMs: 1,
  embedMs: 1,
});

/**
 * The session's collaborator, held in the test's hand: each `analyse` waits until the test settles
 * it, so ordering needs no clock and no polling.
 */
class StubAnalyser implements FrameAnalyser {
  readonly #waiting: { resolve: (a: FrameAnalysis) => void; reject: (e: Error) => void }[] = [];
  closed = 0;

  analyse(): Promise<FrameAnalysis> {
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  get inFlight(): number {
    return this.#waiting.length;
  }

  /** Settles the oldest analysis, then lets the session's handlers run. */
  async finish(result: FrameAnalysis | Error = face()): Promise<void> {
    const next = this.#waiting.shift();
    if (!next) throw new Error('no analysis in flight');
    if (result instanceof Error) next.reject(result);
    else next.resolve(result);
    // Every promise reaction queued by the settlement runs before the next macrotask.
    await new Promise((resolve) => setImmediate(resolve));
  }

  close(): void {
    this.closed++;
  }
}

/** A session on injected clocks (wall and monotonic), with a stub analyser. */
function setup(extra: Partial<LiveSessionOptions> = {}) {
  const clock = { wall: 10_000, mono: 0 };
  const analyser = new StubAnalyser();
  const record: SessionResult = {
    reference: unit(0),
    livenessPolicy: LIVENESS_OFF_POLICY,
    liveness: initialLiveness(LIVENESS_OFF_POLICY),
    decision: 'pending',
  };
  const session = new LiveSession({
    id: 'test',
    analyser,
    threshold: 0.5,
    calibration: { type: 'logistic', slope: -10, intercept: 5 },
    record,
    now: () => clock.wall,
    monotonicNow: () => clock.mono,
    ...extra,
  });
  const reports: FrameReport[] = [];
  const changes: RateChange[] = [];
  const errors: unknown[] = [];
  session.on('score', (r) => reports.push(r));
  session.on('rate', (c) => changes.push(c));
  session.on('frameError', (e) => errors.push(e));
  return { session, analyser, record, clock, reports, changes, errors };
}

describe('LiveSession (stub analyser, injected clocks)', () => {
  it('keeps at most one frame in flight and drops frames faster than the analysis rate', async () => {
    const { session: s, analyser, reports } = setup({ fps: 10 });
    // Capture timestamps are explicit, so the rate rule needs no clock.
    expect(s.handleFrame(frame, 1000)).toBe('accepted');
    expect(s.handleFrame(frame, 1001)).toBe('dropped_busy');
    expect(analyser.inFlight).toBe(1);
    await analyser.finish();
    expect(s.handleFrame(frame, 1050)).toBe('dropped_rate');
    expect(s.handleFrame(frame, 1100)).toBe('accepted');
    await analyser.finish();
    // A 15 fps source (every 66.7 ms) on a 10 fps grid: 1166.7 is early, 1233.3 and 1300 are due.
    expect(s.handleFrame(frame, 1166.7)).toBe('dropped_rate');
    expect(s.handleFrame(frame, 1233.3)).toBe('accepted');
    await analyser.finish();
    expect(s.handleFrame(frame, 1300)).toBe('accepted');
    await analyser.finish();
    // After a gap longer than an interval the grid restarts at the frame: no burst to catch up.
    expect(s.handleFrame(frame, 5000)).toBe('accepted');
    await analyser.finish();
    expect(s.handleFrame(frame, 5050)).toBe('dropped_rate');
    expect(reports.map((r) => r.score.frameId)).toEqual([0, 1, 2, 3, 4]);
    // The reference matches: pending until the tracker has seen three single-face frames.
    expect(reports[0]!.score).toMatchObject({
      faceCount: 1,
      verdict: 'pending',
      threshold: 0.5,
      distance: 0,
    });
    expect(reports[2]!.score.verdict).toBe('matched');
    s.close();
    s.close();
    expect(analyser.closed).toBe(1);
    expect(s.handleFrame(frame, 9000)).toBe('dropped_closed');
  });

  it('discards a result that lands after close, and goes on after a failed analysis', async () => {
    const { session: s, analyser, reports, errors } = setup({ fps: 10 });
    expect(s.handleFrame(frame, 1000)).toBe('accepted');
    const failure = new Error('detect failed');
    await analyser.finish(failure);
    expect(errors).toEqual([failure]);
    // The failed frame is no longer in flight: the next due frame is taken.
    expect(s.handleFrame(frame, 1100)).toBe('accepted');
    s.close();
    await analyser.finish();
    expect(reports).toEqual([]);
  });

  it('lowers its analysis rate when latency is over target, at most once a second, and says so', async () => {
    const { session: s, analyser, clock, changes } = setup({ fps: 10, targetLatencyMs: 150, minFps: 2 });
    // Each analysis takes 200 ms on the monotonic clock: over target.
    const slowFrame = async (capturedAt: number): Promise<void> => {
      expect(s.handleFrame(frame, capturedAt)).toBe('accepted');
      clock.mono += 200;
      await analyser.finish();
    };
    await slowFrame(1000);
    expect(changes).toEqual([
      {
        fps: 7,
        requestedFps: 10,
        degraded: true,
        reason: 'frame→score 200 ms is over 150 ms: analysing 7 fps',
      },
    ]);
    expect(s.degraded).toBe(true);
    // Within a second of the change: still over target, but the rate holds.
    await slowFrame(2000);
    expect(changes).toHaveLength(1);
    clock.mono += 1000;
    await slowFrame(3000);
    expect(changes.map((c) => c.fps)).toEqual([7, 4.9]);
    // The grid follows the rate: at 4.9 fps the frame after 3150 is due ~204 ms later, not ~143.
    expect(s.handleFrame(frame, 3150)).toBe('accepted');
    await analyser.finish();
    expect(s.handleFrame(frame, 3300)).toBe('dropped_rate');
    expect(s.handleFrame(frame, 3340)).toBe('accepted');
    await analyser.finish();
    // The client cannot undo the server's backpressure by asking again; it may only ask for less.
    const lowered = s.fps;
    s.handleConfig(30);
    expect(s.fps).toBe(lowered);
    expect(s.degraded).toBe(true);
    s.handleConfig(2);
    expect(s.fps).toBe(2);
    expect(s.degraded).toBe(false);
    s.close();
  });

  it('climbs back to the requested rate once latency is well under target', async () => {
    const { session: s, analyser, clock, changes } = setup({ fps: 10, targetLatencyMs: 150 });
    const frameTaking = async (ms: number, capturedAt: number): Promise<void> => {
      expect(s.handleFrame(frame, capturedAt)).toBe('accepted');
      clock.mono += ms;
      await analyser.finish();
    };
    await frameTaking(300, 1000);
    expect(s.fps).toBe(7);
    // Fast frames pull the smoothed latency down; the rate climbs a second after the last change.
    for (let i = 1; i <= 6; i++) await frameTaking(1, 1000 + i * 1000);
    expect(s.fps).toBe(7);
    clock.mono += 1000;
    await frameTaking(1, 8000);
    expect(changes.at(-1)).toMatchObject({
      fps: 8.8,
      degraded: true,
      reason: 'recovering: analysing 8.8 fps',
    });
    s.close();
  });

  it('takes a higher rate at once when it is not degraded', () => {
    const { session: s } = setup({ fps: 10 });
    s.handleConfig(15);
    expect(s.fps).toBe(15);
    expect(s.degraded).toBe(false);
    s.handleConfig(5);
    expect(s.fps).toBe(5);
    expect(() => s.handleConfig(1000)).toThrow(TypeError);
    s.close();
  });

  it('keeps a bounded history of score points and counts received and dropped frames', async () => {
    const { session: s, analyser, clock, reports } = setup({ fps: 10, historySize: 3 });
    expect(s.history()).toEqual([]);
    expect(s.analysedFps()).toBe(0);
    for (let i = 0; i < 5; i++) {
      clock.wall += 100;
      clock.mono += 100;
      expect(s.handleFrame(frame, clock.wall)).toBe('accepted');
      // Turned away by the ingest's question (busy: a drop), then offered before it is due
      // (skipped by the sampling grid, which is not a drop).
      expect(s.gate.ask(clock.wall + 1)).toBe('dropped_busy');
      clock.mono += 7;
      await analyser.finish(face(unit(i % 2)));
      expect(s.handleFrame(frame, clock.wall + 10)).toBe('dropped_rate');
    }
    const history = s.history();
    // The ring keeps only the newest three, oldest first, and agrees with the score events.
    expect(history.map((p) => p.frameId)).toEqual([2, 3, 4]);
    expect(history.map((p) => p.t)).toEqual([10_300, 10_400, 10_500]);
    expect(history.at(-1)).toMatchObject({
      distance: reports[4]!.score.distance,
      smoothedDistance: reports[4]!.score.smoothedDistance,
      verdict: reports[4]!.score.verdict,
    });
    expect(history.map((p) => p.latencyMs)).toEqual([7, 7, 7]);
    expect(s.history(2).map((p) => p.frameId)).toEqual([3, 4]);
    expect(s.frameCounts).toEqual({ received: 15, dropped: 5 });
    // Measured rate: 5 frames were scored in the last 2 s of the injected clock, but only 3 are kept.
    expect(s.analysedFps()).toBe(1.5);
    clock.wall += 5000;
    expect(s.analysedFps()).toBe(0);
    expect(() => setup({ historySize: 601 })).toThrow(TypeError);
    s.close();
  });

  it('enrols from the next single-face frame into the record, which owns the reference', async () => {
    const { session: s, analyser, record, reports } = setup();
    record.reference = null;
    expect(s.enrolled).toBe(false);
    const enrolled = s.enrollFromNextFrame();
    // A frame with two faces is no enrolment; the next single-face one is.
    expect(s.handleFrame(frame, 0)).toBe('accepted');
    await analyser.finish({ ...face(unit(3)), faceCount: 2 });
    expect(s.enrolled).toBe(false);
    expect(s.handleFrame(frame, 1000)).toBe('accepted');
    await analyser.finish(face(unit(5)));
    const embedding = await enrolled;
    expect(embedding).toEqual(unit(5));
    expect(record.reference).toBe(embedding);
    expect(s.enrolled).toBe(true);
    // The frame it enrolled from is scored against it.
    expect(reports.at(-1)!.score.distance).toBe(0);
    // An image enrolment replaces it in the same place.
    s.setReference(unit(6));
    expect(record.reference).toEqual(unit(6));
    s.close();
  });
});
