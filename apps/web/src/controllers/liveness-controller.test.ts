import type { LivenessState } from '@fv/protocol';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LivenessController } from './liveness-controller.ts';

class FakeHost implements ReactiveControllerHost {
  controllers: ReactiveController[] = [];
  updates = 0;
  addController(controller: ReactiveController): void {
    this.controllers.push(controller);
  }
  removeController(): void {}
  requestUpdate(): void {
    this.updates++;
  }
  get updateComplete(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

const state = (over: Partial<LivenessState> = {}): LivenessState => ({
  mode: 'active',
  status: 'pending',
  challenges: [],
  attempt: 0,
  retriesLeft: 1,
  ...over,
});
const drawn = (statuses: ('waiting' | 'active' | 'passed' | 'failed')[], over: Partial<LivenessState> = {}) =>
  state({
    attempt: 1,
    challenges: statuses.map((status, index) => ({
      index,
      action: (['smile', 'turn_left', 'open_mouth'] as const)[index]!,
      status,
      ...(status === 'failed' ? { reason: 'timeout' as const } : {}),
    })),
    ...over,
  });

describe('LivenessController', () => {
  let now = 0;
  let host: FakeHost;
  let live: LivenessController;
  beforeEach(() => {
    vi.useFakeTimers();
    now = 0;
    host = new FakeHost();
    live = new LivenessController(host, () => now);
  });
  afterEach(() => {
    live.hostDisconnected();
    vi.useRealTimers();
  });
  const advance = (ms: number): void => {
    now += ms;
    vi.advanceTimersByTime(ms);
  };

  it('is off until the server says, and for sessions without liveness', () => {
    expect(live.phase).toBe('off');
    live.welcome(state({ mode: 'off', status: 'off', retriesLeft: 0 }));
    expect(live.phase).toBe('off');
  });

  it('goes waiting → lead-in → challenge (counting down) → lead-in → passed', () => {
    live.welcome(state());
    expect(live.phase).toBe('waiting');
    live.changed(drawn(['waiting', 'waiting']), 'pending');
    expect(live.phase).toBe('lead-in');

    live.asked({ index: 0, count: 2, action: 'smile', deadline: 1e12, windowMs: 4000 });
    expect(live.phase).toBe('challenge');
    expect(live.secondsLeft).toBe(4);
    advance(1100);
    expect(live.secondsLeft).toBe(3);
    // A `liveness` message that still shows the challenge active keeps its window.
    live.changed(drawn(['active', 'waiting']), 'pending');
    expect(live.challenge?.action).toBe('smile');

    live.changed(drawn(['passed', 'waiting']), 'pending');
    expect(live.phase).toBe('lead-in');
    expect(live.lastDecided).toMatchObject({ index: 0, status: 'passed' });
    expect(live.challenge).toBeNull();

    live.asked({ index: 1, count: 2, action: 'turn_left', deadline: 1e12, windowMs: 4000 });
    advance(4500);
    expect(live.secondsLeft).toBe(0);
    live.changed(drawn(['passed', 'passed'], { status: 'passed' }), 'verified');
    expect(live.phase).toBe('passed');
    expect(live.decision).toBe('verified');
  });

  it('a failed sequence: failed, retrying after a retry, then the new sequence', () => {
    live.welcome(state());
    live.changed(drawn(['waiting']), 'pending');
    live.asked({ index: 0, count: 1, action: 'smile', deadline: 1e12, windowMs: 4000 });
    live.changed(drawn(['failed'], { status: 'failed' }), 'not_verified');
    expect(live.phase).toBe('failed');
    expect(live.challenge).toBeNull();
    live.retryAsked();
    expect(live.phase).toBe('retrying');
    // Still the old sequence: still retrying.
    live.update('failed', 'not_verified');
    expect(live.phase).toBe('retrying');
    live.changed(drawn(['waiting'], { attempt: 2, retriesLeft: 0 }), 'pending');
    expect(live.phase).toBe('lead-in');
    expect(live.retrying).toBe(false);
  });

  it('after a reconnect, a window still open on the server counts down to its deadline', () => {
    const t = 1_800_000_000_000;
    const open = drawn(['passed', 'active']);
    open.challenges[1] = { ...open.challenges[1]!, startsAt: t, deadline: t + 4000 };
    live.welcome(open, t + 1500);
    expect(live.phase).toBe('challenge');
    expect(live.challenge).toMatchObject({ index: 1, count: 2, action: 'turn_left', windowMs: 2500 });
    expect(live.secondsLeft).toBe(3);
    // A clock far behind the server's: never more than the window.
    live.welcome(open, t - 60_000);
    expect(live.challenge?.windowMs).toBe(4000);
  });

  it('a refused retry goes back to the failed sequence', () => {
    live.welcome(drawn(['failed'], { status: 'failed' }));
    live.retryAsked();
    expect(live.phase).toBe('retrying');
    live.errored();
    expect(live.phase).toBe('failed');
  });

  it('a score with a decided status closes the window; reset forgets everything', () => {
    live.welcome(state());
    live.changed(drawn(['waiting']), 'pending');
    live.asked({ index: 0, count: 1, action: 'smile', deadline: 1e12, windowMs: 4000 });
    live.update('passed', 'verified');
    expect(live.phase).toBe('passed');
    expect(live.challenge).toBeNull();
    live.reset();
    expect(live.phase).toBe('off');
    expect(live.decision).toBe('pending');
    expect(live.state).toBeNull();
  });
});
