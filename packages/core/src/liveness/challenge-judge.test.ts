import { describe, expect, it } from 'vitest';
import { ChallengeJudge, type Challenge, type JudgedFrame } from './challenge-judge.ts';
import type { FaceFeatures } from './face-actions.ts';
import { features } from './test-faces.ts';

/** 10 fps frames from `from` to `to` (exclusive), one matched face showing `show(t)`. */
function frames(
  from: number,
  to: number,
  show: (t: number) => Partial<FaceFeatures> = () => ({}),
): JudgedFrame[] {
  const out: JudgedFrame[] = [];
  for (let t = from; t < to; t += 100)
    out.push({ t, faceCount: 1, matched: true, features: features(show(t)) });
  return out;
}

const TWO: Challenge[] = [
  { action: 'blink', start: 1000, deadline: 3000 },
  { action: 'turn_left', start: 4000, deadline: 6000 },
];

function judge(challenges: Challenge[], stream: JudgedFrame[]): ChallengeJudge {
  const j = new ChallengeJudge(challenges);
  for (const f of stream) j.handleFrame(f);
  return j;
}

/** 10 fps frames from `from` to `to` (exclusive) without one judgeable face. */
const gap = (from: number, to: number, faceCount: number): JudgedFrame[] =>
  frames(from, to).map((f) => ({ ...f, faceCount, features: faceCount === 1 ? null : f.features }));

const blinkAt = (t: number, at: number): Partial<FaceFeatures> => (t === at ? { ear: 0.1 } : {});
const turnLeftFrom = (t: number, from: number): Partial<FaceFeatures> => (t >= from ? { yaw: 0.2 } : {});

describe('ChallengeJudge', () => {
  it('passes a sequence done in order, each as soon as its action is complete', () => {
    const j = judge(TWO, [
      ...frames(0, 4000, (t) => blinkAt(t, 1500)),
      ...frames(4000, 7000, (t) => turnLeftFrom(t, 4500)),
    ]);
    expect(j.overall).toBe('passed');
    expect(j.outcomes.map((o) => [o.status, 'at' in o ? o.at : null])).toEqual([
      ['passed', 1600],
      ['passed', 4600],
    ]);
  });

  it('is pending until decided', () => {
    const j = judge(TWO, frames(0, 1400));
    expect(j.overall).toBe('pending');
    expect(j.outcomes.every((o) => o.status === 'pending')).toBe(true);
  });

  const failures: [string, JudgedFrame[], string, number][] = [
    ['no face for longer than maxGapMs', [...frames(0, 1500), ...gap(1500, 2000, 0)], 'no_face', 1900],
    [
      'a face without landmarks for longer than maxGapMs',
      [...frames(0, 1500), ...gap(1500, 2000, 1)],
      'no_face',
      1900,
    ],
    ['two faces for longer than maxGapMs', [...frames(0, 800), ...gap(800, 1300, 2)], 'multiple_faces', 1200],
    [
      'another person',
      [...frames(0, 1200), { t: 1200, faceCount: 1, matched: false, features: features() }],
      'identity_lost',
      1200,
    ],
    ['no blink by the deadline', frames(0, 3200), 'timeout', 3000],
    ['a turn before the blink', frames(0, 3000, (t) => turnLeftFrom(t, 1500)), 'wrong_action', 1600],
    ['no frames in the lead-in', frames(1000, 3000, (t) => blinkAt(t, 1500)), 'not_neutral', 1000],
  ];
  it.each(failures)('fails the first challenge on %s', (_name, stream, reason, at) => {
    const j = judge(TWO, stream);
    expect(j.overall).toBe('failed');
    expect(j.outcomes[0]).toMatchObject({ status: 'failed', reason, at });
    expect(j.outcomes[1]!.status).toBe('pending');
  });

  it('ignores frames before the first lead-in', () => {
    const early: JudgedFrame = { t: -500, faceCount: 0, matched: false, features: null };
    const j = judge(TWO, [
      early,
      { ...early, t: -100, faceCount: 3 },
      ...frames(0, 2000, (t) => blinkAt(t, 1500)),
    ]);
    expect(j.outcomes[0]!.status).toBe('passed');
  });

  it('checks identity between challenges too', () => {
    const j = judge(TWO, [
      ...frames(0, 2500, (t) => blinkAt(t, 1500)),
      { t: 2500, faceCount: 1, matched: false, features: features() },
    ]);
    expect(j.outcomes[0]!.status).toBe('passed');
    expect(j.outcomes[1]).toMatchObject({ status: 'failed', reason: 'identity_lost', at: 2500 });
  });

  it('does not count a head still turned from the last challenge as neutral', () => {
    const seq: Challenge[] = [
      { action: 'turn_left', start: 1000, deadline: 3000 },
      { action: 'blink', start: 4000, deadline: 6000 },
    ];
    const j = judge(
      seq,
      frames(0, 4500, (t) => turnLeftFrom(t, 1500)),
    );
    expect(j.outcomes[0]!.status).toBe('passed');
    expect(j.outcomes[1]).toMatchObject({ status: 'failed', reason: 'not_neutral', at: 4000 });
  });

  it('judges each challenge against its own lead-in', () => {
    // The person settles with the head slightly turned after the first challenge: that is the new neutral.
    const seq: Challenge[] = [
      { action: 'blink', start: 1000, deadline: 3000 },
      { action: 'turn_left', start: 4000, deadline: 6000 },
    ];
    const j = judge(seq, [
      ...frames(0, 2000, (t) => blinkAt(t, 1200)),
      ...frames(2000, 4600, () => ({ yaw: 0.05 })),
      ...frames(4600, 5000, () => ({ yaw: 0.1 })), // 0.05 from neutral: not yet a turn
      ...frames(5000, 5300, () => ({ yaw: 0.14 })),
    ]);
    expect(j.outcomes[1]).toMatchObject({ status: 'passed', at: 5100 });
  });

  it('times out on the clock alone, without frames', () => {
    const j = new ChallengeJudge(TWO);
    for (const f of frames(0, 1000)) j.handleFrame(f);
    j.handleTime(2999);
    expect(j.overall).toBe('pending');
    j.handleTime(3001);
    expect(j.outcomes[0]).toMatchObject({ status: 'failed', reason: 'timeout', at: 3000 });
  });

  it('skips a short run of frames without one face (a missed detection), then judges on', () => {
    const j = judge(TWO, [
      ...frames(0, 1300),
      ...gap(1300, 1500, 0),
      ...gap(1500, 1600, 2),
      ...frames(1600, 2000, (t) => blinkAt(t, 1700)),
    ]);
    expect(j.outcomes[0]).toMatchObject({ status: 'passed', at: 1800 });
  });

  it('does not let a frame captured before the window opened answer it', () => {
    const j = new ChallengeJudge([TWO[0]!]);
    for (const f of frames(0, 900)) j.handleFrame(f);
    j.handleTime(1000); // the window opened on the clock (no frame at 1000 yet)
    j.handleFrame({ t: 950, faceCount: 1, matched: true, features: features({ ear: 0.1 }) });
    j.handleFrame({ t: 1100, faceCount: 1, matched: true, features: features() });
    expect(j.overall).toBe('pending');
  });

  it('chained: after a pass the next lead-in starts at once, with the same window length', () => {
    const j = new ChallengeJudge(TWO, { chained: true });
    for (const f of frames(0, 3000, (t) => (t >= 2800 ? turnLeftFrom(t, 2800) : blinkAt(t, 1500))))
      j.handleFrame(f);
    expect(j.outcomes[0]).toMatchObject({ status: 'passed', at: 1600 });
    expect(j.outcomes[1]).toMatchObject({ start: 2600, deadline: 4600 });
    expect(j.outcomes[1]!.status).toBe('passed');
    const fixed = new ChallengeJudge(TWO);
    for (const f of frames(0, 3000, (t) => blinkAt(t, 1500))) fixed.handleFrame(f);
    expect(fixed.outcomes[1]).toMatchObject({ start: 4000, deadline: 6000, status: 'pending' });
  });

  it('ignores frames after the decision', () => {
    const j = judge([TWO[0]!], [...frames(0, 2000, (t) => blinkAt(t, 1500))]);
    expect(j.overall).toBe('passed');
    expect(j.handleFrame({ t: 2500, faceCount: 0, matched: false, features: null })).toBe('passed');
  });

  it('rejects invalid sequences and options', () => {
    expect(() => new ChallengeJudge([])).toThrow(TypeError);
    expect(() => new ChallengeJudge([{ action: 'smile', start: 10, deadline: 5 }])).toThrow(TypeError);
    expect(() => new ChallengeJudge([TWO[1]!, TWO[0]!])).toThrow(TypeError);
    expect(() => new ChallengeJudge(TWO, { neutralMs: 0 })).toThrow(TypeError);
    expect(() => new ChallengeJudge(TWO, { maxGapMs: -1 })).toThrow(TypeError);
    expect(() => new ChallengeJudge(TWO, { detector: { turnYaw: 0 } })).toThrow(TypeError);
  });
});
