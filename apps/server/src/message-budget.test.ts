import { LIVE_LIMITS } from '@fv/protocol';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BYTE_BURST,
  DEFAULT_MESSAGE_BURST,
  DEFAULT_MESSAGES_PER_SECOND,
  MessageBudget,
  type MessageBudgetOptions,
} from './message-budget.ts';

/** A budget on a hand-moved clock (ms). */
function budgetAt(options: Omit<MessageBudgetOptions, 'now'> = {}): {
  budget: MessageBudget;
  advance: (ms: number) => void;
  set: (ms: number) => void;
} {
  let t = 1_000;
  const budget = new MessageBudget({ ...options, now: () => t });
  return { budget, advance: (ms) => (t += ms), set: (ms) => (t = ms) };
}

/** How many `take()`s succeed in a row right now. */
function drain(budget: MessageBudget, max = 100_000): number {
  let n = 0;
  while (n < max && budget.take()) n++;
  return n;
}

describe('MessageBudget', () => {
  it('defaults to a budget a live client never reaches', () => {
    const { budget } = budgetAt();
    expect(budget.perSecond).toBe(DEFAULT_MESSAGES_PER_SECOND);
    expect(budget.burst).toBe(DEFAULT_MESSAGE_BURST);
    // Above the frames the stream still tolerates (twice the top rate) with room for signalling.
    expect(DEFAULT_MESSAGES_PER_SECOND).toBeGreaterThanOrEqual(LIVE_LIMITS.maxFps * 2 * 2);
    expect(DEFAULT_MESSAGE_BURST).toBeGreaterThanOrEqual(DEFAULT_MESSAGES_PER_SECOND);
  });

  it('starts full: a burst passes at once, the next message does not', () => {
    const { budget } = budgetAt({ perSecond: 10, burst: 25 });
    expect(drain(budget)).toBe(25);
    expect(budget.take()).toBe(false);
    expect(budget.available).toBeLessThan(1);
  });

  it('refills at perSecond, never beyond the burst', () => {
    const { budget, advance } = budgetAt({ perSecond: 10, burst: 5 });
    drain(budget);
    advance(99);
    expect(budget.take()).toBe(false);
    advance(1); // 100 ms at 10/s: one message
    expect(budget.take()).toBe(true);
    expect(budget.take()).toBe(false);
    advance(250); // 2.5 messages: two now, the half stays
    expect(drain(budget)).toBe(2);
    advance(50);
    expect(drain(budget)).toBe(1);
    advance(60_000);
    expect(budget.available).toBe(5);
    expect(drain(budget)).toBe(5);
  });

  it('passes a steady stream at the rate and cuts a faster one off after the burst', () => {
    const steady = budgetAt({ perSecond: 120, burst: 240 });
    // 10 s of exactly 120 messages a second, evenly spaced: all pass.
    for (let i = 0; i < 1200; i++) {
      steady.advance(1000 / 120);
      expect(steady.budget.take()).toBe(true);
    }
    const flood = budgetAt({ perSecond: 120, burst: 240 });
    // 10,000 messages a second: the burst plus what a second refills, then nothing.
    let passed = 0;
    for (let i = 0; i < 10_000; i++) {
      flood.advance(0.1);
      if (flood.budget.take()) passed++;
    }
    expect(passed).toBeGreaterThanOrEqual(240 + 119);
    expect(passed).toBeLessThanOrEqual(240 + 120);
  });

  it('refills nothing while the clock steps back, and resumes from there', () => {
    const { budget, set } = budgetAt({ perSecond: 1000, burst: 10 });
    drain(budget);
    set(500); // back from 1000
    expect(budget.take()).toBe(false);
    set(502);
    expect(drain(budget)).toBe(2);
  });

  it('also meters bytes: large messages run out before their count does', () => {
    const { budget, advance } = budgetAt({
      perSecond: 100,
      burst: 100,
      bytesPerSecond: 1000,
      byteBurst: 2500,
    });
    expect(budget.take(1000)).toBe(true);
    expect(budget.take(1000)).toBe(true);
    // 500 bytes left: a 1000-byte message is refused and spends nothing, a small one passes.
    expect(budget.take(1000)).toBe(false);
    expect(budget.take(400)).toBe(true);
    advance(900);
    expect(budget.take(1000)).toBe(true);
    expect(budget.take(200)).toBe(false);
  });

  it('holds at least two of the largest messages a stream accepts (an 8 MiB enrolment)', () => {
    expect(DEFAULT_BYTE_BURST).toBeGreaterThanOrEqual(2 * LIVE_LIMITS.maxEnrollImageLength);
    const { budget } = budgetAt();
    expect(budget.take(LIVE_LIMITS.maxEnrollImageLength)).toBe(true);
    expect(budget.take(LIVE_LIMITS.maxEnrollImageLength)).toBe(true);
  });

  it('uses performance.now() when given no clock', () => {
    const budget = new MessageBudget({ perSecond: 1, burst: 2 });
    expect(drain(budget)).toBe(2);
    expect(budget.take()).toBe(false);
  });

  it.each([
    ['perSecond 0', { perSecond: 0 }],
    ['perSecond negative', { perSecond: -5 }],
    ['perSecond NaN', { perSecond: NaN }],
    ['perSecond Infinity', { perSecond: Infinity }],
    ['perSecond as a string', { perSecond: '10' }],
    ['burst 0', { burst: 0 }],
    ['burst 0.5', { burst: 0.5 }],
    ['burst NaN', { burst: NaN }],
    ['burst Infinity', { burst: Infinity }],
    ['bytesPerSecond 0', { bytesPerSecond: 0 }],
    ['byteBurst 0', { byteBurst: 0 }],
    ['byteBurst NaN', { byteBurst: NaN }],
    ['now not a function', { now: 5 }],
  ])('rejects %s with a TypeError', (_, options) => {
    expect(() => new MessageBudget(options as unknown as MessageBudgetOptions)).toThrow(TypeError);
  });

  it('rejects options that are not an object', () => {
    expect(() => new MessageBudget(null as unknown as MessageBudgetOptions)).toThrow(TypeError);
  });
});
