import { describe, expect, it } from 'vitest';
import {
  eyeAspectRatio,
  faceFeatures,
  mouthGap,
  mouthGapOf,
  mouthOpening,
  mouthWidth,
  yawProxy,
} from './face-actions.ts';
import {
  closedEyes,
  flat,
  moved,
  neutralFace,
  openMouth,
  roundMouth,
  shiftNose,
  wideMouth,
} from './test-faces.ts';

const neutral = faceFeatures(flat(neutralFace()));

describe('faceFeatures', () => {
  it('reads the neutral template as open eyes, closed lips, frontal', () => {
    expect(neutral.earRight).toBeCloseTo(0.3, 6);
    expect(neutral.earLeft).toBeCloseTo(0.3, 6);
    expect(neutral.ear).toBeCloseTo(0.3, 6);
    expect(neutral.mouthOpening).toBeCloseTo(0.05, 6);
    expect(neutral.mouthWidth).toBeCloseTo(0.8, 6);
    expect(neutral.yaw).toBeCloseTo(0, 6);
  });

  it('closed eyes lower the eye aspect ratio of each eye, and nothing else', () => {
    const f = faceFeatures(flat(closedEyes(neutralFace())));
    expect(f.earRight).toBeLessThan(0.5 * neutral.earRight);
    expect(f.earLeft).toBeLessThan(0.5 * neutral.earLeft);
    expect(f.ear).toBeLessThan(0.5 * neutral.ear);
    expect(f.mouthOpening).toBeCloseTo(neutral.mouthOpening, 6);
    expect(f.yaw).toBeCloseTo(neutral.yaw, 6);
  });

  it('one closed eye lowers only that eye', () => {
    const pts = neutralFace();
    for (const k of [1, 2, 4, 5]) pts[42 + k]![1] = 85;
    expect(eyeAspectRatio(flat(pts), 36)).toBeCloseTo(0.3, 6);
    expect(eyeAspectRatio(flat(pts), 42)).toBeLessThan(0.05);
  });

  it('an open mouth raises the mouth opening, not the width', () => {
    const f = faceFeatures(flat(openMouth(neutralFace())));
    expect(f.mouthOpening).toBeGreaterThan(neutral.mouthOpening + 0.3);
    expect(f.mouthWidth).toBeCloseTo(neutral.mouthWidth, 6);
    expect(f.ear).toBeCloseTo(neutral.ear, 6);
  });

  it('the mouth gap is the inner-lip gap over the inter-ocular distance, whatever the mouth width', () => {
    // Template: inner lips 2 px apart, eye centres 50 px apart.
    expect(mouthGap(flat(neutralFace()))).toBeCloseTo(2 / 50, 6);
    expect(mouthGap(flat(openMouth(neutralFace(), 15)))).toBeCloseTo(17 / 50, 6);
    // A rounded "O" (mouth 20% narrower) parted as far: the same gap, while gap / width rises 25%.
    const o = flat(roundMouth(neutralFace(), 15, 0.8));
    expect(mouthGap(o)).toBeCloseTo(17 / 50, 6);
    expect(mouthOpening(o)).toBeCloseTo(mouthOpening(flat(openMouth(neutralFace(), 15))) / 0.8, 6);
    // A smile's width leaves it alone.
    expect(mouthGap(flat(wideMouth(neutralFace(), 1.25)))).toBeCloseTo(2 / 50, 6);
  });

  it('mouthGapOf derives the gap from recorded features (opening × width)', () => {
    for (const pts of [
      neutralFace(),
      openMouth(neutralFace(), 9),
      roundMouth(neutralFace()),
      wideMouth(neutralFace()),
    ]) {
      expect(mouthGapOf(faceFeatures(flat(pts)))).toBeCloseTo(mouthGap(flat(pts)), 9);
    }
    expect(mouthGapOf(faceFeatures(new Float32Array(136)))).toBe(0);
  });

  it('a wide (smiling) mouth raises the mouth width, not the opening', () => {
    const f = faceFeatures(flat(wideMouth(neutralFace(), 1.25)));
    expect(f.mouthWidth).toBeCloseTo(1.25 * neutral.mouthWidth, 6);
    expect(f.mouthOpening).toBeLessThanOrEqual(neutral.mouthOpening);
  });

  it('the yaw proxy is positive when the nose moves towards the image right', () => {
    expect(yawProxy(flat(shiftNose(neutralFace(), 10)))).toBeCloseTo(0.1, 6);
    expect(yawProxy(flat(shiftNose(neutralFace(), -10)))).toBeCloseTo(-0.1, 6);
    expect(faceFeatures(flat(shiftNose(neutralFace(), 10))).ear).toBeCloseTo(neutral.ear, 6);
  });

  it('is scale-, translation- and roll-free', () => {
    const base = shiftNose(openMouth(neutralFace(), 10), 7);
    const a = faceFeatures(flat(base));
    const b = faceFeatures(flat(moved(base, 0.35, 2.5, 300, -40)));
    for (const key of Object.keys(a) as (keyof typeof a)[]) expect(b[key]).toBeCloseTo(a[key], 4);
  });

  it('rejects landmark sets that are not 68 points', () => {
    expect(() => faceFeatures(new Float32Array(10))).toThrow(TypeError);
    expect(() => mouthOpening([])).toThrow(TypeError);
    expect(() => mouthWidth(new Float32Array(138))).toThrow(TypeError);
    expect(() => mouthGap([])).toThrow(TypeError);
  });

  it('degenerate (collapsed) landmarks give 0, not NaN', () => {
    const f = faceFeatures(new Float32Array(136));
    for (const v of Object.values(f)) expect(v).toBe(0);
  });
});
