import type { FaceFeatures } from '@fv/core';
import type { ChallengeMessage, LivenessState } from '@fv/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  LivenessCheck,
  initialLiveness,
  nextDecision,
  type LivenessFrame,
  type LivenessPolicy,
} from './liveness-check.ts';

const POLICY: LivenessPolicy = {
  mode: 'active',
  actions: ['smile', 'turn_left'],
  challenges: 2,
  retries: 1,
  windowMs: 3000,
  neutralMs: 1000,
};
const NEUTRAL: FaceFeatures = {
  earRight: 0.3,
  earLeft: 0.3,
  ear: 0.3,
  mouthOpening: 0.05,
  mouthWidth: 1,
  yaw: 0,
};
/** Far past any threshold a detector could use: a wide smile, a clear turn to the person's left. */
const SHOWS: Record<string, FaceFeatures> = {
  neutral: NEUTRAL,
  smile: { ...NEUTRAL, mouthWidth: 1.45 },
  turn_left: { ...NEUTRAL, yaw: 0.3 },
};

/** A check on a hand-held clock; `random` always picks the first remaining action (no shuffle). */
function setup(policy: LivenessPolicy = POLICY, stored: LivenessState = initialLiveness(policy)) {
  const clock = { now: 0 };
  const check = new LivenessCheck(policy, stored, {
    now: () => clock.now,
    random: (max) => max - 1,
    settleFrames: 1,
  });
  const challenges: ChallengeMessage[] = [];
  const states: LivenessState[] = [];
  check.on('challenge', (c) => challenges.push(c));
  check.on('change', (s) => states.push(s));
  /** Frames every 100 ms from the clock's time until `to`, showing `show(t)`. */
  const play = (
    to: number,
    show: (t: number) => string = () => 'neutral',
    extra: Partial<LivenessFrame> = {},
  ) => {
    for (; clock.now < to; clock.now += 100) {
      check.observe({
        t: clock.now,
        faceCount: 1,
        matched: true,
        features: SHOWS[show(clock.now)]!,
        ...extra,
      });
    }
  };
  return { check, clock, challenges, states, play };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('LivenessCheck', () => {
  it('is inert when off', () => {
    const off = { ...POLICY, mode: 'off' as const };
    const { check, challenges, play } = setup(off);
    play(10_000);
    expect(check.state).toEqual({ mode: 'off', status: 'off', challenges: [], attempt: 0, retriesLeft: 0 });
    expect(challenges).toEqual([]);
  });

  it('draws nothing until the face matches, then distinct actions, announced as each window opens', () => {
    const { check, challenges, states, play, clock } = setup();
    play(500, () => 'neutral', { matched: false });
    expect(check.state.attempt).toBe(0);
    // Drawn on the first matching frame (t = 500); the first window opens a lead-in later.
    play(1500);
    expect(states[0]).toMatchObject({ status: 'pending', attempt: 1 });
    expect(challenges).toEqual([]);
    play(1600);
    expect(check.state.challenges.map((c) => c.action).sort()).toEqual(['smile', 'turn_left']);
    expect(challenges).toEqual([
      {
        type: 'challenge',
        index: 0,
        count: 2,
        action: check.state.challenges[0]!.action,
        deadline: 4500,
        windowMs: 3000,
      },
    ]);
    expect(check.state.challenges[0]).toMatchObject({ status: 'active', startsAt: 1500 });
    expect(clock.now).toBe(1600);
  });

  it('passes a person who does each action in its window; each lead-in starts at the last pass', () => {
    const { check, challenges, play } = setup();
    play(100); // drawn at t = 0: the first window opens at 1000
    const [first, second] = check.state.challenges.map((c) => c.action);
    play(1600);
    play(2000, () => first!);
    expect(check.state.challenges[0]).toMatchObject({ status: 'passed' });
    const passedAt = check.state.challenges[0]!.decidedAt!;
    expect(check.state.challenges[1]).toMatchObject({ startsAt: passedAt + 1000, deadline: passedAt + 4000 });
    play(passedAt + 1600);
    play(passedAt + 2200, () => second!);
    expect(check.state.status).toBe('passed');
    expect(challenges.map((c) => c.action)).toEqual([first, second]);
    play(passedAt + 4000, () => first!); // later frames change nothing
    expect(check.state.status).toBe('passed');
  });

  it("fails on another challenge's action, on a lost identity, and on the clock alone", () => {
    const wrong = setup();
    wrong.play(100);
    const [first, second] = wrong.check.state.challenges.map((c) => c.action);
    wrong.play(1500);
    wrong.play(2000, () => second!);
    expect(wrong.check.state).toMatchObject({
      status: 'failed',
      challenges: [{ status: 'failed', reason: 'wrong_action' }, { status: 'waiting' }],
    });
    expect(first).not.toBe(second);

    const swapped = setup();
    swapped.play(1500);
    swapped.play(1600, () => 'neutral', { matched: false });
    expect(swapped.check.state.challenges[0]).toMatchObject({ status: 'failed', reason: 'identity_lost' });

    vi.useFakeTimers();
    const idle = setup();
    idle.play(1200); // then the frames stop
    idle.clock.now = 4000 + 400; // the deadline (4000) plus the grace
    vi.advanceTimersByTime(100);
    expect(idle.check.state.status).toBe('pending');
    idle.clock.now = 4000 + 500;
    vi.advanceTimersByTime(100);
    expect(idle.check.state.challenges[0]).toMatchObject({
      status: 'failed',
      reason: 'timeout',
      decidedAt: 4000,
    });
  });

  it('retries only after a failure and only while retries are left', () => {
    const { check, play, clock } = setup({ ...POLICY, retries: 1 });
    expect(check.retry()).toBe(false); // nothing failed
    play(1500);
    play(1600, () => 'neutral', { matched: false });
    expect(check.state.status).toBe('failed');
    expect(check.retry()).toBe(true);
    expect(check.state).toMatchObject({ status: 'pending', challenges: [], attempt: 1, retriesLeft: 0 });
    play(clock.now + 200);
    expect(check.state.attempt).toBe(2); // a new draw on the next matching frame
    play(clock.now + 1500);
    play(clock.now + 100, () => 'neutral', { matched: false });
    expect(check.state.status).toBe('failed');
    expect(check.retry()).toBe(false);
  });

  it('fails a sequence its stream left, and one a stored state shows as left running', () => {
    const { check, states, play } = setup();
    play(1200);
    check.close();
    check.close();
    expect(states.at(-1)).toMatchObject({
      status: 'failed',
      challenges: [{ status: 'failed', reason: 'no_face' }, { status: 'waiting' }],
    });
    const resumed = new LivenessCheck(POLICY, { ...states[0]!, status: 'pending' });
    expect(resumed.state.status).toBe('failed');
    const passed: LivenessState = { ...states[0]!, status: 'passed' };
    expect(new LivenessCheck(POLICY, passed).state).toBe(passed);
  });

  it('draws only once the face has matched on settleFrames consecutive frames', () => {
    const check = new LivenessCheck(POLICY, initialLiveness(POLICY), { now: () => 0, settleFrames: 3 });
    const frame = (matched: boolean): LivenessFrame => ({ t: 0, faceCount: 1, matched, features: NEUTRAL });
    for (const m of [true, true, false, true, true]) check.observe(frame(m));
    expect(check.state.attempt).toBe(0);
    check.observe(frame(true));
    expect(check.state.attempt).toBe(1);
    check.close();
  });

  it('refuses a policy asking for more challenges than actions', () => {
    expect(() => new LivenessCheck({ ...POLICY, challenges: 3 }, initialLiveness(POLICY))).toThrow(TypeError);
  });
});

describe('nextDecision', () => {
  const live = (status: LivenessState['status']): LivenessState => ({ ...initialLiveness(POLICY), status });
  it.each([
    ['pending', 'matched', 'passed', 'verified'],
    ['pending', 'matched', 'off', 'verified'],
    ['pending', 'matched', 'pending', 'pending'],
    ['verified', 'not_matched', 'passed', 'not_verified'],
    ['pending', 'matched', 'failed', 'not_verified'],
    ['verified', 'no_face', 'passed', 'verified'],
    ['not_verified', 'multiple_faces', 'off', 'not_verified'],
  ] as const)('%s, then a %s frame with liveness %s → %s', (before, verdict, liveness, after) => {
    expect(nextDecision(before, verdict, live(liveness))).toBe(after);
  });
});
