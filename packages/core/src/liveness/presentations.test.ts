import { describe, expect, it } from 'vitest';
import type { FaceAction } from './action-detector.ts';
import type { JudgedFrame } from './challenge-judge.ts';
import { faceFeatures, type FaceFeatures } from './face-actions.ts';
import {
  drawDistinct,
  framesInRanges,
  genuinePresenter,
  handHeldMotion,
  mulberry32,
  posePhotoLandmarks,
  printPresenter,
  rangesToMs,
  replayPresenter,
  rngFor,
  runPresentation,
  scheduleChallenges,
  swapPresenter,
  wilson,
  type ClipFrame,
  type LabelledClip,
  type OpenWindow,
  type Presenter,
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
  it('puts a lead-in before each window, the first lead-in at 0', () => {
    expect(scheduleChallenges(['smile', 'turn_left'], 1000, 4000)).toEqual([
      { action: 'smile', start: 1000, deadline: 5000 },
      { action: 'turn_left', start: 6000, deadline: 10000 },
    ]);
  });
});

// A synthetic clip, 30 fps, 300 frames (10 s): neutral 0–29, turn_left 60–74 (0.5 s), turn_right
// 150–155 (0.2 s); every frame its own features object, so a shown frame is known by identity.
function syntheticClip(actions: Partial<Record<FaceAction, [number, number][]>> = {}): LabelledClip {
  const frames: ClipFrame[] = Array.from({ length: 300 }, (_, i) => {
    let yaw = 0;
    if ((i >= 60 && i <= 74) || (i >= 200 && i <= 214)) yaw = 0.2;
    else if (i >= 150 && i <= 155) yaw = -0.2;
    return { faces: 1, features: features({ yaw }), landmarks: null };
  });
  return {
    fps: 30,
    frames,
    neutral: rangesToMs([[0, 29]], 30),
    actions: {
      turn_left: rangesToMs(actions.turn_left ?? [[60, 74]], 30),
      turn_right: rangesToMs(actions.turn_right ?? [[150, 155]], 30),
    },
  };
}
const clip = syntheticClip();
const indexOf = (c: LabelledClip, frame: JudgedFrame): number =>
  c.frames.findIndex((f) => f.features === frame.features);
const isNeutral = (c: LabelledClip, frame: JudgedFrame): boolean => {
  const i = indexOf(c, frame);
  return i >= 0 && i <= 29;
};

describe('label ranges', () => {
  it('map to recording frames across rates', () => {
    expect(framesInRanges(rangesToMs([[5, 9]], 25), 25, 100)).toEqual([5, 6, 7, 8, 9]);
    expect(framesInRanges(rangesToMs([[2, 3]], 10), 30, 100)).toEqual([6, 7, 8, 9]);
    expect(framesInRanges(clip.neutral, 30, 300)).toHaveLength(30);
  });
});

describe('genuine presenter', () => {
  const left: OpenWindow = { index: 0, action: 'turn_left', start: 1000 };

  it('neutral outside windows, the labelled action in real time from the moment its window opened', () => {
    const p = genuinePresenter(clip, ['turn_left', 'turn_right'], mulberry32(1));
    for (let t = 0; t < 1000; t += 100) expect(isNeutral(clip, p(t, null))).toBe(true);
    for (let t = 1000; t <= 1700; t += 100) {
      const since = t - 1000;
      const frame = p(t, left);
      expect(frame).toMatchObject({ t, faceCount: 1, matched: true });
      if (since <= 466) expect(indexOf(clip, frame)).toBe(60 + Math.round((since * 30) / 1000));
      else expect(isNeutral(clip, frame)).toBe(true);
    }
    expect(isNeutral(clip, p(1800, null))).toBe(true);
    // The second window opens whenever the judge says (not on a fixed schedule).
    const right: OpenWindow = { index: 1, action: 'turn_right', start: 2350 };
    expect(indexOf(clip, p(2350, right))).toBe(150);
    expect(indexOf(clip, p(2450, right))).toBe(153);
    expect(isNeutral(clip, p(2650, right))).toBe(true);
  });

  it('stops acting when the window closes, or after settleMs', () => {
    const long = syntheticClip({ turn_left: [[60, 119]] });
    const cut = genuinePresenter(long, ['turn_left'], mulberry32(1));
    expect(indexOf(long, cut(1000, left))).toBe(60);
    expect(indexOf(long, cut(1100, left))).toBe(63);
    expect(isNeutral(long, cut(1200, null))).toBe(true);
    const settling = genuinePresenter(long, ['turn_left'], mulberry32(1), { settleMs: 300 });
    settling(1000, left);
    expect(indexOf(long, settling(1100, left))).toBe(63);
    expect(indexOf(long, settling(1200, null))).toBe(66);
    expect(indexOf(long, settling(1400, null))).toBe(72);
    expect(isNeutral(long, settling(1500, null))).toBe(true);
  });

  it('loops the neutral frames in real time', () => {
    const p = genuinePresenter(clip, ['turn_left'], mulberry32(2));
    const shown = Array.from({ length: 30 }, (_, k) => indexOf(clip, p(k * 100, null)));
    for (let k = 1; k < shown.length; k++) expect((shown[k]! - shown[k - 1]! + 30) % 30).toBe(3);
  });

  it('chooses each challenge’s range at random, reproducibly from the seed', () => {
    const two = syntheticClip({
      turn_left: [
        [60, 74],
        [200, 214],
      ],
    });
    const first = (seed: number): number =>
      indexOf(two, genuinePresenter(two, ['turn_left'], mulberry32(seed))(1000, left));
    const seen = new Set(Array.from({ length: 20 }, (_, s) => first(s)));
    expect(seen).toEqual(new Set([60, 200]));
    expect(first(7)).toBe(first(7));
  });

  it('answers as someone else with matched: false', () => {
    const p = genuinePresenter(clip, ['turn_left'], mulberry32(1), { matched: false });
    expect(p(0, null).matched).toBe(false);
    expect(p(1000, left).matched).toBe(false);
  });

  it('refuses a clip without an asked action or without neutral frames, and an unexpected challenge', () => {
    const noRight = { ...clip, actions: { turn_left: clip.actions.turn_left! } };
    expect(() => genuinePresenter(noRight, ['turn_right'], mulberry32(1))).toThrow(/turn_right/);
    expect(() => genuinePresenter({ ...clip, neutral: [] }, ['turn_left'], mulberry32(1))).toThrow(/neutral/);
    const p = genuinePresenter(clip, ['turn_left'], mulberry32(1));
    expect(() => p(1000, { ...left, action: 'turn_right' })).toThrow(/asks turn_right/);
  });
});

describe('attack presenters', () => {
  it('replay: the clip unchanged from the offset, looping, whatever is asked', () => {
    const short = { fps: 30, frames: clip.frames.slice(0, 60) };
    const p = replayPresenter(short, 1500);
    const shown = [0, 100, 200, 300, 400, 500, 600].map((t) =>
      indexOf(clip, p(t, t >= 300 ? { index: 0, action: 'turn_left', start: 300 } : null)),
    );
    expect(shown).toEqual([45, 48, 51, 54, 57, 0, 3]);
  });

  it('print: the still’s landmarks, hand-held, one face that matches, whatever is asked', () => {
    const face = flat(neutralFace());
    const p = printPresenter(face, mulberry32(5), 4);
    const motion = handHeldMotion(mulberry32(5));
    for (const t of [0, 700, 1300]) {
      const frame = p(t, t >= 1000 ? { index: 0, action: 'smile', start: 1000 } : null);
      expect(frame).toEqual({
        t,
        faceCount: 1,
        matched: true,
        features: faceFeatures(posePhotoLandmarks(face, motion(t), 4)),
      });
    }
    expect(p(0, null).features).not.toEqual(p(700, null).features);
  });

  it('swap: the photo in lead-ins, the other person (not matched) in windows', () => {
    const photoFeatures = features({ ear: 0.31 });
    const photo: Presenter = (t) => ({ t, faceCount: 1, matched: true, features: photoFeatures });
    const live = genuinePresenter(clip, ['turn_left'], mulberry32(1));
    const p = swapPresenter(photo, live);
    expect(p(900, null)).toEqual({ t: 900, faceCount: 1, matched: true, features: photoFeatures });
    const inWindow = p(1000, { index: 0, action: 'turn_left', start: 1000 });
    expect(inWindow.matched).toBe(false);
    expect(indexOf(clip, inWindow)).toBe(60);
  });
});

describe('runPresentation', () => {
  const options = { leadInMs: 1000, windowMs: 4000, analysisFps: 10 };
  const face = (t: number, over: Partial<FaceFeatures> = {}, faceCount = 1): JudgedFrame => ({
    t,
    faceCount,
    matched: true,
    features: features(over),
  });
  /** Turns as asked, at once. */
  const obliging: Presenter = (t, w) =>
    face(t, w === null ? {} : { yaw: w.action === 'turn_left' ? 0.2 : -0.2 });
  const logged = (p: Presenter) => {
    const calls: { t: number; window: OpenWindow | null; frame: JudgedFrame }[] = [];
    const presenter: Presenter = (t, window) => {
      const frame = p(t, window);
      calls.push({ t, window, frame });
      return frame;
    };
    return { calls, presenter };
  };

  it('asks tick by tick, each window open from its chained start, until decided', () => {
    const { calls, presenter } = logged(obliging);
    const result = runPresentation(['turn_left', 'turn_right'], presenter, options);
    expect(result).toMatchObject({ passed: true, reason: null, failedAction: null, judgeMs: 0 });
    const [first, second] = result.outcomes;
    expect(first).toMatchObject({ status: 'passed', start: 1000 });
    // Chained, as live: the second lead-in starts at the first pass, long before its provisional 6000.
    expect(second!.start).toBe((first as { at: number }).at + 1000);
    expect(second!.start).toBeLessThan(6000);
    expect(calls.map((c) => c.t)).toEqual(calls.map((_, k) => k * 100));
    for (const { t, window } of calls) {
      if (t < first!.start) expect(window).toBeNull();
      else if (t <= (first as { at: number }).at)
        expect(window).toEqual({ index: 0, action: 'turn_left', start: 1000 });
      else if (t < second!.start) expect(window).toBeNull();
      else expect(window).toEqual({ index: 1, action: 'turn_right', start: second!.start });
    }
    expect(calls[calls.length - 1]!.t).toBe((second as { at: number }).at);
    expect(result.frames).toBe(calls.length);
  });

  it('times out a still (asking nothing after the deadline), and a swap is identity_lost', () => {
    const { calls, presenter } = logged((t) => face(t));
    const still = runPresentation(['turn_left'], presenter, options);
    expect(still).toMatchObject({ passed: false, reason: 'timeout', failedAction: 'turn_left' });
    expect(calls[calls.length - 1]!.t).toBe(5000);
    const swap = runPresentation(
      ['turn_left'],
      (t, w) => ({ ...obliging(t, w), matched: w === null }),
      options,
    );
    expect(swap).toMatchObject({ passed: false, reason: 'identity_lost', failedAction: 'turn_left' });
  });

  it('runs the live judge: a short gap without a face is skipped (maxGapMs 300), unless told otherwise', () => {
    const gappy: Presenter = (t, w) => (t >= 400 && t <= 600 ? face(t, {}, 0) : obliging(t, w));
    expect(runPresentation(['turn_left'], gappy, options).passed).toBe(true);
    expect(runPresentation(['turn_left'], gappy, { ...options, judge: { maxGapMs: 100 } })).toMatchObject({
      passed: false,
      reason: 'no_face',
    });
  });

  it('times the judge’s calls with the given clock: one handleTime per tick, one handleFrame per frame', () => {
    let now = 0;
    const result = runPresentation(['turn_left'], (t) => face(t), { ...options, clock: () => now++ });
    expect(result.frames).toBe(51); // t = 0 … 5000; the deadline passes at 5100 without a frame
    expect(result.judgeMs).toBe(52 + 51);
  });

  it('a genuine person’s second action starts when the moved window opens', () => {
    const actions: FaceAction[] = ['turn_left', 'turn_right'];
    const { calls, presenter } = logged(genuinePresenter(clip, actions, mulberry32(3)));
    const result = runPresentation(actions, presenter, options);
    expect(result.passed).toBe(true);
    const passedAt = (result.outcomes[0] as { at: number }).at;
    const moved = result.outcomes[1]!.start;
    expect(moved).toBe(passedAt + 1000);
    expect(moved).toBeLessThan(6000);
    for (const { t, frame } of calls) {
      if (t > passedAt && t < moved) expect(isNeutral(clip, frame)).toBe(true);
    }
    expect(indexOf(clip, calls.find((c) => c.t === moved)!.frame)).toBe(150);
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
