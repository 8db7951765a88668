import { describe, expect, it } from 'vitest';
import { faceFeatures } from './face-actions.ts';
import {
  analysisTicks,
  drawDistinct,
  framesInRanges,
  genuineTimeline,
  handHeldMotion,
  judgePresentation,
  mulberry32,
  posePhotoLandmarks,
  rangesToMs,
  replayTimeline,
  rngFor,
  scheduleChallenges,
  wilson,
  windowAt,
  type LabelledClip,
} from './presentations.ts';
import { features, flat, neutralFace } from './test-faces.ts';

describe('seeded draws', () => {
  it('mulberry32 is reproducible and in [0, 1)', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5)).toBeLessThan(0.05);
  });

  it('named streams differ and do not depend on each other', () => {
    expect(rngFor(1, 'a')()).toBe(rngFor(1, 'a')());
    expect(rngFor(1, 'a')()).not.toBe(rngFor(1, 'b')());
    expect(rngFor(1, 'a')()).not.toBe(rngFor(2, 'a')());
  });

  it('drawDistinct draws distinct items of the pool', () => {
    const rng = mulberry32(3);
    for (let k = 0; k < 100; k++) {
      const d = drawDistinct(rng, ['a', 'b', 'c', 'd'], 3);
      expect(new Set(d).size).toBe(3);
      expect(d.every((x) => 'abcd'.includes(x))).toBe(true);
    }
    expect(() => drawDistinct(rng, ['a'], 2)).toThrow(RangeError);
  });
});

describe('schedule', () => {
  const cs = scheduleChallenges(['smile', 'turn_left'], 1000, 4000);

  it('puts a lead-in before each window', () => {
    expect(cs).toEqual([
      { action: 'smile', start: 1000, deadline: 5000 },
      { action: 'turn_left', start: 6000, deadline: 10000 },
    ]);
    expect(windowAt(cs, 500)).toBe(-1);
    expect(windowAt(cs, 1000)).toBe(0);
    expect(windowAt(cs, 5500)).toBe(-1);
    expect(windowAt(cs, 10000)).toBe(1);
  });

  it('ticks at the analysis rate past the last deadline', () => {
    const ticks = analysisTicks(cs, 10);
    expect(ticks[0]).toBe(0);
    expect(ticks[1]).toBe(100);
    expect(ticks[ticks.length - 1]).toBe(10100);
  });
});

describe('timelines', () => {
  // 30 fps, 300 frames (10 s): neutral 0–29 (0–0.967 s), smile 60–74, open_mouth 150–155.
  const clip: LabelledClip = {
    fps: 30,
    frameCount: 300,
    neutral: rangesToMs([[0, 29]], 30),
    actions: { smile: rangesToMs([[60, 74]], 30), open_mouth: rangesToMs([[150, 155]], 30) },
  };
  const neutral = new Set(framesInRanges(clip.neutral, 30, 300));

  it('maps label ranges to recording frames across rates', () => {
    expect(framesInRanges(rangesToMs([[5, 9]], 25), 25, 100)).toEqual([5, 6, 7, 8, 9]);
    expect(framesInRanges(rangesToMs([[2, 3]], 10), 30, 100)).toEqual([6, 7, 8, 9]);
    expect(neutral.size).toBe(30);
  });

  it('genuine: neutral in lead-ins, the labelled action in real time from the window start', () => {
    const cs = scheduleChallenges(['smile', 'open_mouth'], 1000, 4000);
    const tl = genuineTimeline(clip, cs, 10, mulberry32(1));
    expect(tl.map((f) => f.t)).toEqual(analysisTicks(cs, 10));
    for (const { t, frame } of tl) {
      const w = windowAt(cs, t);
      const since = w >= 0 ? t - cs[w]!.start : Infinity;
      if (w === 0 && since <= 466) expect(frame).toBe(60 + Math.round((since * 30) / 1000));
      else if (w === 1 && since <= 166) expect(frame).toBe(150 + Math.round((since * 30) / 1000));
      else expect(neutral.has(frame)).toBe(true);
    }
  });

  it('genuine: the neutral frames loop in real time', () => {
    const cs = scheduleChallenges(['smile'], 1000, 4000);
    const tl = genuineTimeline(clip, cs, 10, mulberry32(2));
    const lead = tl.filter((f) => f.t < 1000).map((f) => f.frame);
    for (let k = 1; k < lead.length; k++) expect((lead[k]! - lead[k - 1]! + 30) % 30).toBe(3);
  });

  it('genuine: refuses a clip without the asked action or without neutral frames', () => {
    const cs = scheduleChallenges(['turn_left'], 1000, 4000);
    expect(() => genuineTimeline(clip, cs, 10, mulberry32(1))).toThrow(/turn_left/);
    const noNeutral = { ...clip, neutral: [] };
    expect(() =>
      genuineTimeline(noNeutral, scheduleChallenges(['smile'], 1000, 4000), 10, mulberry32(1)),
    ).toThrow(/neutral/);
  });

  it('replay: the clip unchanged from the offset, looping', () => {
    const cs = scheduleChallenges(['smile'], 1000, 4000);
    const tl = replayTimeline(30, 60, cs, 10, 1500);
    expect(tl.slice(0, 7).map((f) => f.frame)).toEqual([45, 48, 51, 54, 57, 0, 3]);
  });
});

describe('hand-held photo', () => {
  const face = flat(neutralFace());
  const still = faceFeatures(face);

  it('the identity pose leaves the landmarks unchanged', () => {
    const out = posePhotoLandmarks(face, { dx: 0, dy: 0, scale: 1, rotation: 0, tilt: 0 });
    out.forEach((v, i) => expect(v).toBeCloseTo(face[i]!, 9));
  });

  it('pan, zoom and roll leave the scale-free features unchanged', () => {
    const out = posePhotoLandmarks(face, { dx: 10, dy: -7, scale: 1.08, rotation: 0.1, tilt: 0 });
    const f = faceFeatures(out);
    for (const k of ['ear', 'mouthOpening', 'mouthWidth', 'yaw'] as const)
      expect(f[k]).toBeCloseTo(still[k], 9);
    expect(out[0]).not.toBeCloseTo(face[0]!, 3);
  });

  it('a tilt squeezes x by about cos(tilt) and, in perspective, reads as a small yaw', () => {
    const tilt = Math.acos(0.9);
    const out = posePhotoLandmarks(face, { dx: 0, dy: 0, scale: 1, rotation: 0, tilt }, 1e6);
    expect((out[32]! - out[0]!) / (face[32]! - face[0]!)).toBeCloseTo(0.9, 4);
    const near = faceFeatures(posePhotoLandmarks(face, { dx: 0, dy: 0, scale: 1, rotation: 0, tilt }, 5));
    const other = faceFeatures(
      posePhotoLandmarks(face, { dx: 0, dy: 0, scale: 1, rotation: 0, tilt: -tilt }, 5),
    );
    expect(Math.sign(near.yaw - still.yaw)).toBe(-Math.sign(other.yaw - still.yaw));
    expect(Math.abs(near.yaw - still.yaw)).toBeGreaterThan(0.01);
    expect(Math.abs(near.yaw - still.yaw)).toBeLessThan(0.08);
  });

  it('the motion stays within its bounds and is reproducible', () => {
    const m = handHeldMotion(mulberry32(5));
    const m2 = handHeldMotion(mulberry32(5));
    for (let t = 0; t < 20000; t += 100) {
      const p = m(t);
      expect(p).toEqual(m2(t));
      expect(Math.abs(p.dx)).toBeLessThanOrEqual(10);
      expect(Math.abs(p.dy)).toBeLessThanOrEqual(10);
      expect(Math.abs(p.scale - 1)).toBeLessThanOrEqual(0.08);
      expect(Math.abs(p.rotation)).toBeLessThanOrEqual((6 * Math.PI) / 180 + 1e-12);
      expect(1 - Math.cos(p.tilt)).toBeLessThanOrEqual(0.1 + 1e-12);
    }
  });
});

describe('judgePresentation', () => {
  const cs = scheduleChallenges(['turn_left'], 1000, 2000);
  const ticks = analysisTicks(cs, 10);

  it('passes a presentation that does the action', () => {
    const frames = ticks.map((t) => ({
      t,
      faceCount: 1,
      matched: true,
      features: features(t >= 1500 ? { yaw: 0.2 } : {}),
    }));
    expect(judgePresentation(cs, frames)).toEqual({ passed: true, reason: null, failedAction: null });
  });

  it('times out a still, and reports a swap as identity_lost', () => {
    const still = ticks.map((t) => ({ t, faceCount: 1, matched: true, features: features() }));
    expect(judgePresentation(cs, still)).toEqual({
      passed: false,
      reason: 'timeout',
      failedAction: 'turn_left',
    });
    const swap = ticks.map((t) => ({ t, faceCount: 1, matched: t < 1000, features: features() }));
    expect(judgePresentation(cs, swap).reason).toBe('identity_lost');
  });
});

describe('wilson', () => {
  it('brackets the proportion', () => {
    const [lo, hi] = wilson(0, 250);
    expect(lo).toBe(0);
    expect(hi).toBeGreaterThan(0.01);
    expect(hi).toBeLessThan(0.02);
    const [a, b] = wilson(50, 100);
    expect(a).toBeLessThan(0.5);
    expect(b).toBeGreaterThan(0.5);
  });
});
