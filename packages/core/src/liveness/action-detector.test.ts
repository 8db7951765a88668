import { describe, expect, it } from 'vitest';
import { ActionDetector, DEFAULT_ACTION_DETECTOR_OPTIONS, baselineOf } from './action-detector.ts';
import type { FaceFeatures } from './face-actions.ts';
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

function run(d: ActionDetector, frames: FaceFeatures[]): Set<string> {
  let seen: ReadonlySet<string> = new Set();
  frames.forEach((f, i) => (seen = d.observe(i * 100, f)));
  return new Set(seen);
}

describe('baselineOf', () => {
  it('takes per-feature medians, so one blink or glance does not move it', () => {
    const b = baselineOf([
      features(),
      features({ ear: 0.05 }),
      features({ yaw: 0.3 }),
      features(),
      features(),
    ]);
    expect(b).toEqual({ ear: 0.3, mouthOpening: 0.03, mouthWidth: 0.8, yaw: 0, frames: 5 });
    expect(baselineOf([features({ ear: 0.2 }), features({ ear: 0.3 })]).ear).toBeCloseTo(0.25);
    expect(() => baselineOf([])).toThrow(TypeError);
  });
});

describe('ActionDetector', () => {
  it('rejects invalid options', () => {
    expect(() => new ActionDetector({ blinkRatio: 1.2 })).toThrow(TypeError);
    expect(() => new ActionDetector({ blinkRatio: 0.8, blinkReopenRatio: 0.7 })).toThrow(TypeError);
    expect(() => new ActionDetector({ smileWidthGain: 0 })).toThrow(TypeError);
    expect(() => new ActionDetector({ openMouthGain: Number.NaN })).toThrow(TypeError);
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

  it('a wide and open mouth is open_mouth, not a smile', () => {
    const f = features({ mouthWidth: 0.95, mouthOpening: 0.5 });
    expect(run(primed(), [f, f])).toEqual(new Set(['open_mouth']));
    const slight = features({ mouthOpening: 0.2 });
    expect(run(primed(), [slight, slight]).size).toBe(0);
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
