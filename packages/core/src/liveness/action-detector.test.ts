import { describe, expect, it } from 'vitest';
import { ActionDetector, DEFAULT_ACTION_DETECTOR_OPTIONS, baselineOf } from './action-detector.ts';
import type { FaceFeatures } from './face-actions.ts';
import { mouthGapOf } from './face-actions.ts';
import { features } from './test-faces.ts';

function primed(
  options = {},
  neutral: FaceFeatures[] = [features(), features(), features()],
): ActionDetector {
  const d = new ActionDetector(options);
  for (const f of neutral) d.addNeutral(f);
  d.begin();
  return d;
}

/** Frames 100 ms apart (the 10 fps analysis rate). */
function run(d: ActionDetector, frames: FaceFeatures[]): Set<string> {
  let seen: ReadonlySet<string> = new Set();
  frames.forEach((f, i) => (seen = d.observe(i * 100, f)));
  return new Set(seen);
}

/** A neutral face (mouth width 0.8 of the inter-ocular distance) with its lips `gap` apart. */
function gapped(gap: number, over: Partial<FaceFeatures> = {}): FaceFeatures {
  const mouthWidth = over.mouthWidth ?? 0.8;
  return features({ ...over, mouthWidth, mouthOpening: gap / mouthWidth });
}

const REST_GAP = mouthGapOf(features());

describe('baselineOf', () => {
  it('takes per-feature medians, so one blink or glance does not move it', () => {
    const b = baselineOf([
      features(),
      features({ ear: 0.05 }),
      features({ yaw: 0.3 }),
      features(),
      features(),
    ]);
    expect(b).toEqual({
      ear: 0.3,
      mouthOpening: 0.03,
      mouthWidth: 0.8,
      mouthGap: mouthGapOf(features()),
      yaw: 0,
      frames: 5,
    });
    expect(baselineOf([features({ ear: 0.2 }), features({ ear: 0.3 })]).ear).toBeCloseTo(0.25);
    expect(() => baselineOf([])).toThrow(TypeError);
  });
});

describe('ActionDetector', () => {
  it('rejects invalid options', () => {
    expect(() => new ActionDetector({ blinkRatio: 1.2 })).toThrow(TypeError);
    expect(() => new ActionDetector({ blinkRatio: 0.8, blinkReopenRatio: 0.7 })).toThrow(TypeError);
    expect(() => new ActionDetector({ smileWidthGain: 0 })).toThrow(TypeError);
    expect(() => new ActionDetector({ openMouthGap: Number.NaN })).toThrow(TypeError);
    expect(() => new ActionDetector({ openMouthKeepGap: 0.2 })).toThrow(TypeError); // above openMouthGap
    expect(() => new ActionDetector({ openMouthKeepGap: 0 })).toThrow(TypeError);
    expect(() => new ActionDetector({ wideOpenGap: 0.05 })).toThrow(TypeError); // below openMouthGap
    expect(() => new ActionDetector({ openMouthHoldMs: -1 })).toThrow(TypeError);
    expect(() => new ActionDetector({ turnYaw: -0.1 })).toThrow(TypeError);
    expect(() => new ActionDetector({ minPoseFrames: 1.5 })).toThrow(TypeError);
    expect(() => new ActionDetector({ minNeutralFrames: 0 })).toThrow(TypeError);
    expect(() => new ActionDetector({ maxNeutralFrames: 2 })).toThrow(TypeError);
    expect(new ActionDetector().options).toEqual(DEFAULT_ACTION_DETECTOR_OPTIONS);
  });

  it('has no baseline (and detects nothing) with too few neutral frames', () => {
    const d = primed({}, [features(), features()]);
    expect(d.baseline).toBeNull();
    expect(run(d, [features({ yaw: 0.5 }), features({ yaw: 0.5 })]).size).toBe(0);
  });

  it('detects a blink only once the eyes reopen', () => {
    const d = primed();
    expect(run(d, [features(), features({ ear: 0.2 })]).has('blink')).toBe(false);
    expect(d.observe(300, features({ ear: 0.25 })).has('blink')).toBe(false); // half-open: not yet
    expect(d.observe(400, features({ ear: 0.29 })).has('blink')).toBe(true);
    expect(d.detected.get('blink')).toBe(400);
  });

  it('a drop smaller than blinkRatio is no blink', () => {
    expect(run(primed(), [features({ ear: 0.24 }), features(), features()]).has('blink')).toBe(false);
  });

  it('is relative to the person: narrow eyes at rest still blink', () => {
    const narrow = [features({ ear: 0.2 }), features({ ear: 0.2 }), features({ ear: 0.2 })];
    const d = primed({}, narrow);
    expect(run(d, [features({ ear: 0.2 }), features({ ear: 0.12 }), features({ ear: 0.2 })])).toEqual(
      new Set(['blink']),
    );
  });

  it('detects a smile held for minPoseFrames, not a single frame', () => {
    expect(run(primed(), [features(), features({ mouthWidth: 0.95 }), features()]).size).toBe(0);
    expect(run(primed(), [features({ mouthWidth: 0.95 }), features({ mouthWidth: 0.95 })])).toEqual(
      new Set(['smile']),
    );
  });

  it('open_mouth is the lips parted by openMouthGap of the inter-ocular distance, held 300 ms', () => {
    const open = gapped(REST_GAP + 0.12);
    // 200 ms (three frames at 10 fps): a syllable's length, not yet an open mouth.
    expect(run(primed(), [open, open, open, features()]).size).toBe(0);
    const d = primed();
    expect(run(d, [open, open, open, open])).toEqual(new Set(['open_mouth']));
    expect(d.detected.get('open_mouth')).toBe(300);
    // Lips parted by less than openMouthGap, however long: no open mouth.
    const slight = gapped(REST_GAP + 0.08);
    expect(run(primed(), Array(10).fill(slight)).size).toBe(0);
  });

  it('measures the opening against the face, not the mouth: a narrowed "O" opens as much as an "ah"', () => {
    // The same 0.15 gap with the mouth 20% narrower (rounded lips) or as wide as at rest.
    const o = gapped(REST_GAP + 0.15, { mouthWidth: 0.64 });
    const ah = gapped(REST_GAP + 0.15);
    expect(run(primed(), [o, o, o, o])).toEqual(new Set(['open_mouth']));
    expect(run(primed(), [ah, ah, ah, ah])).toEqual(new Set(['open_mouth']));
    // Relative to the person's rest: lips already 0.1 apart at rest must part by 0.1 more.
    const parted = primed({}, [gapped(0.1), gapped(0.1), gapped(0.1)]);
    expect(run(parted, Array(4).fill(gapped(0.18))).size).toBe(0);
    expect(run(parted, Array(4).fill(gapped(0.21)))).toEqual(new Set(['open_mouth']));
  });

  it('an opening held near the threshold is kept down to openMouthKeepGap (hysteresis)', () => {
    const over = gapped(REST_GAP + 0.11);
    const dip = gapped(REST_GAP + 0.08); // under openMouthGap, over openMouthKeepGap
    const shut = gapped(REST_GAP + 0.04); // under openMouthKeepGap: the run ends
    expect(run(primed(), [over, dip, dip, over])).toEqual(new Set(['open_mouth']));
    expect(run(primed(), [over, dip, shut, over]).size).toBe(0);
    // A dip does not start an opening.
    expect(run(primed(), [dip, dip, dip, dip, dip]).size).toBe(0);
  });

  it('a smile with parted lips stays a smile; a wide "aah" (wideOpenGap) is open_mouth', () => {
    const teeth = gapped(REST_GAP + 0.2, { mouthWidth: 0.95 });
    expect(run(primed(), [teeth, teeth, teeth, teeth])).toEqual(new Set(['smile']));
    const aah = gapped(REST_GAP + 0.35, { mouthWidth: 0.95 });
    expect(run(primed(), [aah, aah, aah, aah])).toEqual(new Set(['open_mouth']));
    // Wide and open: not a smile even before the hold completes.
    expect(run(primed(), [aah, aah]).size).toBe(0);
  });

  it('a turned head is a turn only: a smile or an open mouth during it is not reported', () => {
    const smilingTurn = features({ mouthWidth: 0.95, yaw: 0.1 });
    expect(run(primed(), [smilingTurn, smilingTurn])).toEqual(new Set(['turn_left']));
    const openTurn = gapped(REST_GAP + 0.4, { yaw: -0.1 });
    expect(run(primed(), Array(5).fill(openTurn))).toEqual(new Set(['turn_right']));
    // The same smile just under turnYaw is a smile.
    const smilingGlance = features({ mouthWidth: 0.95, yaw: 0.07 });
    expect(run(primed(), [smilingGlance, smilingGlance])).toEqual(new Set(['smile']));
    const pose = new ActionDetector().poseOf(smilingTurn, baselineOf([features()]))!;
    expect([pose.smile, pose.openMouth, pose.turnLeft, pose.turnRight]).toEqual([false, false, true, false]);
  });

  it('turn_left is the nose towards the image right (positive yaw), turn_right the opposite', () => {
    const rest = [features({ yaw: 0.05 }), features({ yaw: 0.05 }), features({ yaw: 0.05 })];
    expect(run(primed({}, rest), [features({ yaw: 0.15 }), features({ yaw: 0.16 })])).toEqual(
      new Set(['turn_left']),
    );
    expect(run(primed({}, rest), [features({ yaw: -0.05 }), features({ yaw: -0.04 })])).toEqual(
      new Set(['turn_right']),
    );
    // 0.1 absolute, but only 0.05 from this person's neutral yaw: no turn.
    expect(run(primed({}, rest), [features({ yaw: 0.1 }), features({ yaw: 0.1 })]).size).toBe(0);
  });

  it('begin() starts a new window with the neutral frames added since', () => {
    const d = primed();
    run(d, [features({ yaw: 0.2 }), features({ yaw: 0.2 })]);
    expect(d.detected.has('turn_left')).toBe(true);
    for (let i = 0; i < 3; i++) d.addNeutral(features({ yaw: 0.2 }));
    expect(d.begin()?.yaw).toBeCloseTo(0.2);
    expect(d.detected.size).toBe(0);
    expect(d.neutralFrames).toBe(0);
    expect(run(d, [features({ yaw: 0.2 }), features({ yaw: 0.2 })]).size).toBe(0);
  });

  it('keeps only the newest maxNeutralFrames neutral frames', () => {
    const d = new ActionDetector({ maxNeutralFrames: 3 });
    for (let i = 0; i < 5; i++) d.addNeutral(features({ yaw: i }));
    expect(d.neutralFrames).toBe(3);
    expect(d.begin()?.yaw).toBe(3);
  });
});
