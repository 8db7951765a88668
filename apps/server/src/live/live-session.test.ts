import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FaceVerifier, parseY4m } from '@fv/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_DIR, sharedDataDir } from '../../../../tests/support/shared-data.ts';
import { FramePipeline } from './frame-pipeline.ts';
import { LiveSession, type FrameReport, type RateChange } from './live-session.ts';

const clip = parseY4m(readFileSync(path.join(sharedDataDir(), 'video', 'person-a_320x240_3s.y4m')));

describe('LiveSession (real detector, model and batcher)', () => {
  let verifier: FaceVerifier;
  let pipeline: FramePipeline;
  let reference: Float32Array;

  beforeAll(async () => {
    verifier = await FaceVerifier.create({ modelDir: MODEL_DIR, embedder: { intraOpThreads: 1 } });
    pipeline = new FramePipeline(verifier.detector, verifier.embedder, { maxBatch: 8, maxWaitMs: 2 });
    reference = (
      await verifier.embedImage(readFileSync(path.join(sharedDataDir(), 'video', 'person-a_reference.jpg')))
    ).embedding;
  });
  afterAll(async () => {
    await pipeline.close();
    await verifier.close();
  });

  const session = (extra: Partial<ConstructorParameters<typeof LiveSession>[0]> = {}): LiveSession =>
    new LiveSession({
      id: 'test',
      pipeline,
      threshold: 0.5,
      calibration: verifier.embedder.manifest.calibration,
      reference,
      ...extra,
    });

  it('keeps at most one frame in flight and drops frames faster than the analysis rate', async () => {
    // The sampling grid alone: a target no analysis misses keeps backpressure (tested below) from
    // moving the rate when a loaded machine makes the first analyses slow.
    const s = session({ fps: 10, targetLatencyMs: 60_000 });
    const reports: FrameReport[] = [];
    s.on('score', (r) => reports.push(r));
    // Capture timestamps are explicit, so the rate rule needs no clock.
    expect(s.handleFrame(clip.frames[0]!, 1000)).toBe('accepted');
    expect(s.handleFrame(clip.frames[1]!, 1001)).toBe('dropped_busy');
    while (reports.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(s.handleFrame(clip.frames[2]!, 1050)).toBe('dropped_rate');
    expect(s.handleFrame(clip.frames[3]!, 1100)).toBe('accepted');
    while (reports.length === 1) await new Promise((r) => setTimeout(r, 5));
    // A 15 fps source (every 66.7 ms) on a 10 fps grid: 1166.7 is early, 1233.3 and 1300 are due.
    expect(s.handleFrame(clip.frames[4]!, 1166.7)).toBe('dropped_rate');
    expect(s.handleFrame(clip.frames[5]!, 1233.3)).toBe('accepted');
    while (reports.length === 2) await new Promise((r) => setTimeout(r, 5));
    expect(s.handleFrame(clip.frames[6]!, 1300)).toBe('accepted');
    while (reports.length === 3) await new Promise((r) => setTimeout(r, 5));
    expect(reports.map((r) => r.score.frameId)).toEqual([0, 1, 2, 3]);
    expect(reports[0]!.score).toMatchObject({ faceCount: 1, verdict: 'pending', threshold: 0.5 });
    s.close();
    s.close();
    expect(s.handleFrame(clip.frames[4]!, 5000)).toBe('dropped_closed');
  });

  it('lowers its analysis rate when latency is over target and says so', async () => {
    // A 1 ms target is always exceeded by real analysis, so the session must back off.
    const s = session({ fps: 10, targetLatencyMs: 1, minFps: 2 });
    const changes: RateChange[] = [];
    s.on('rate', (c) => changes.push(c));
    const start = Date.now();
    // Real time: the rate change is spaced by at least 1 s of wall clock.
    for (let i = 0; Date.now() - start < 1600; i++) {
      s.handleFrame(clip.frames[i % clip.frames.length]!, Date.now());
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(changes[0]).toMatchObject({ fps: 7, requestedFps: 10, degraded: true });
    expect(s.degraded).toBe(true);
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

  it('takes a higher rate at once when it is not degraded', () => {
    const s = session({ fps: 10 });
    s.handleConfig(15);
    expect(s.fps).toBe(15);
    expect(s.degraded).toBe(false);
    s.handleConfig(5);
    expect(s.fps).toBe(5);
    s.close();
  });

  it('keeps a bounded history of score points and counts received and dropped frames', async () => {
    let clock = 10_000;
    const s = session({ fps: 10, historySize: 3, now: () => clock });
    const reports: FrameReport[] = [];
    s.on('score', (r) => reports.push(r));
    expect(s.history()).toEqual([]);
    expect(s.analysedFps()).toBe(0);
    for (let i = 0; i < 5; i++) {
      clock += 100;
      expect(s.handleFrame(clip.frames[i]!, clock)).toBe('accepted');
      // Turned away by the caller's check (busy: a drop), then offered before it is due (skipped
      // by the sampling grid, which is not a drop).
      expect(s.wouldAccept(clock + 1)).toBe('dropped_busy');
      while (reports.length === i) await new Promise((r) => setTimeout(r, 5));
      expect(s.handleFrame(clip.frames[i]!, clock + 10)).toBe('dropped_rate');
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
    expect(history.every((p) => p.latencyMs >= 0)).toBe(true);
    expect(s.history(2).map((p) => p.frameId)).toEqual([3, 4]);
    expect(s.frameCounts).toEqual({ received: 15, dropped: 5 });
    // Measured rate: 5 frames were scored in the last 2 s of the injected clock, but only 3 are kept.
    expect(s.analysedFps()).toBe(1.5);
    clock += 5000;
    expect(s.analysedFps()).toBe(0);
    expect(() => session({ historySize: 601 })).toThrow(TypeError);
    s.close();
  });

  it('enrols from the next single-face frame', async () => {
    const s = session({ reference: null });
    expect(s.enrolled).toBe(false);
    const enrolled = s.enrollFromNextFrame();
    s.handleFrame(clip.frames[0]!, 0);
    const embedding = await enrolled;
    expect(embedding).toHaveLength(48);
    expect(s.enrolled).toBe(true);
    s.close();
  });
});
