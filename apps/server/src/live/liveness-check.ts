import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ChallengeJudge, type Challenge, type FaceFeatures } from '@fv/core';
export type { LivenessPolicy } from '@fv/protocol';
import type {
  ChallengeMessage,
  ChallengeResult,
  Decision,
  LivenessPolicy,
  LivenessState,
  Verdict,
} from '@fv/protocol';

/** The first state of a session under `policy`. */
export function initialLiveness(policy: LivenessPolicy): LivenessState {
  return {
    mode: policy.mode,
    status: policy.mode === 'off' ? 'off' : 'pending',
    challenges: [],
    attempt: 0,
    retriesLeft: policy.mode === 'off' ? 0 : policy.retries,
  };
}

/**
 * A session's decision after a frame: `not_verified` once liveness failed or the face does not
 * match, `verified` when it matches and liveness passed (or is off); a frame without a verdict (no
 * face, several, not yet decided) keeps the decision it had.
 */
export function nextDecision(previous: Decision, verdict: Verdict, liveness: LivenessState): Decision {
  if (liveness.status === 'failed' || verdict === 'not_matched') return 'not_verified';
  if (verdict === 'matched') {
    return liveness.status === 'passed' || liveness.status === 'off' ? 'verified' : 'pending';
  }
  return previous;
}

/** One analysed frame, as liveness sees it. */
export interface LivenessFrame {
  /** Capture time, ms since the epoch (the session's clock). */
  readonly t: number;
  readonly faceCount: number;
  /** Whether the subject's face matches the reference now (the session's smoothed verdict). */
  readonly matched: boolean;
  readonly features: FaceFeatures | null;
}

export interface LivenessCheckOptions {
  /** @defaultValue Date.now */
  now?: () => number;
  /** An integer in [0, max): the draw. @defaultValue node:crypto's randomInt (a CSPRNG) */
  random?: (max: number) => number;
  /** How often the clock is looked at while a sequence runs (windows opening, timeouts). @defaultValue 100 */
  tickMs?: number;
  /**
   * A frame is analysed a while after its capture: the clock alone decides a timeout only this long
   * after the deadline, so a frame captured in time but still in analysis can answer. @defaultValue 400
   */
  graceMs?: number;
  /**
   * The sequence is drawn once the face has matched on this many consecutive analysed frames: the
   * stream has settled (the first second of a stream is often at a lowered rate, and a person who
   * just sat down is not yet still), and one lucky frame does not start it. @defaultValue 5
   */
  settleFrames?: number;
}

/**
 * One stream's active liveness: waits for the enrolled face to match steadily, draws a sequence of distinct
 * actions (CSPRNG), announces each challenge when its window opens and has the {@link ChallengeJudge}
 * judge it from the frames the session analysed (chained: each lead-in starts at the previous pass).
 * Starts from the session's stored state, so a resumed stream keeps a passed result, and a stream
 * that closes mid-sequence fails it (the person stopped showing a face), as dropping the connection
 * must not buy a fresh draw. `close()` is idempotent.
 *
 * @fires challenge — a challenge's window opened
 * @fires change — the state changed (drawn, announced, decided, retried)
 */
export class LivenessCheck extends EventEmitter<{ challenge: [ChallengeMessage]; change: [LivenessState] }> {
  readonly policy: LivenessPolicy;
  readonly #now: () => number;
  readonly #random: (max: number) => number;
  readonly #tickMs: number;
  readonly #graceMs: number;
  readonly #settleFrames: number;
  #matchedRun = 0;
  #state: LivenessState;
  #judge: ChallengeJudge | null = null;
  #announced = -1;
  #timer: ReturnType<typeof setInterval> | null = null;
  #closed = false;

  constructor(policy: LivenessPolicy, stored: LivenessState, options: LivenessCheckOptions = {}) {
    super();
    if (policy.mode === 'active' && !(policy.challenges >= 1 && policy.challenges <= policy.actions.length)) {
      throw new TypeError('challenges must be between 1 and the number of actions');
    }
    this.policy = policy;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? ((max) => randomInt(max));
    this.#tickMs = options.tickMs ?? 100;
    this.#graceMs = options.graceMs ?? 400;
    this.#settleFrames = options.settleFrames ?? 5;
    // A sequence left running by a stream that is gone cannot be resumed: it failed.
    this.#state =
      stored.status === 'pending' && stored.challenges.length > 0 ? interrupted(stored, this.#now()) : stored;
  }

  get state(): LivenessState {
    return this.#state;
  }

  /** One analysed frame, in capture order. */
  observe(frame: LivenessFrame): void {
    if (this.#closed || this.#state.status !== 'pending') return;
    if (this.#judge === null) {
      const matched = frame.matched && frame.faceCount === 1 && frame.features !== null;
      this.#matchedRun = matched ? this.#matchedRun + 1 : 0;
      if (this.#matchedRun >= this.#settleFrames) this.#draw(frame.t);
      return;
    }
    this.#judge.handleFrame(frame);
    this.#update();
  }

  /** Starts another sequence after a failed one; false when none is left (or none failed). */
  retry(): boolean {
    if (this.#closed || this.#state.status !== 'failed' || this.#state.retriesLeft < 1) return false;
    this.#matchedRun = 0;
    this.#set({
      ...this.#state,
      status: 'pending',
      challenges: [],
      retriesLeft: this.#state.retriesLeft - 1,
    });
    return true;
  }

  /** Stops the clock; a sequence still running fails (`no_face`: the stream stopped). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#stopClock();
    if (this.#judge && this.#state.status === 'pending') this.#set(interrupted(this.#state, this.#now()));
    this.#judge = null;
    this.#closed = true;
    this.removeAllListeners();
  }

  #draw(t: number): void {
    // Fisher–Yates over the offered actions with a CSPRNG: which and in what order are unguessable.
    const pool = [...this.policy.actions];
    for (let i = pool.length - 1; i > 0; i--) {
      const j = this.#random(i + 1);
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    const { neutralMs, windowMs } = this.policy;
    const challenges: Challenge[] = pool.slice(0, this.policy.challenges).map((action, i) => {
      // Provisional: with chaining each start moves to the previous pass + neutralMs.
      const start = t + neutralMs + i * (neutralMs + windowMs);
      return { action, start, deadline: start + windowMs };
    });
    this.#judge = new ChallengeJudge(challenges, { neutralMs, chained: true });
    this.#announced = -1;
    this.#set({ ...this.#state, attempt: this.#state.attempt + 1, challenges: this.#results() });
    this.#timer = setInterval(() => this.#tick(), this.#tickMs);
    this.#timer.unref?.();
  }

  #tick(): void {
    if (this.#judge === null) return;
    this.#judge.handleTime(this.#now() - this.#graceMs);
    this.#update();
  }

  /** Announces an opened window, publishes a changed state, stops the clock once decided. */
  #update(): void {
    const judge = this.#judge!;
    const outcomes = judge.outcomes;
    const current = outcomes.findIndex((o) => o.status === 'pending');
    const now = this.#now();
    if (
      current >= 0 &&
      current > this.#announced &&
      outcomes[current]!.start <= now &&
      judge.overall === 'pending'
    ) {
      this.#announced = current;
      const c = outcomes[current]!;
      this.emit('challenge', {
        type: 'challenge',
        index: current,
        count: outcomes.length,
        action: c.action,
        deadline: c.deadline,
        windowMs: c.deadline - c.start,
      });
    }
    const overall = judge.overall;
    const next: LivenessState = { ...this.#state, status: overall, challenges: this.#results() };
    if (overall !== 'pending') {
      this.#stopClock();
      this.#judge = null;
    }
    if (JSON.stringify(next) !== JSON.stringify(this.#state)) this.#set(next);
  }

  #results(): ChallengeResult[] {
    return this.#judge!.outcomes.map((o, index) => ({
      index,
      action: o.action,
      status: o.status === 'pending' ? (index <= this.#announced ? 'active' : 'waiting') : o.status,
      ...(o.status === 'failed' && { reason: o.reason }),
      startsAt: o.start,
      deadline: o.deadline,
      ...(o.status !== 'pending' && { decidedAt: o.at }),
    }));
  }

  #set(state: LivenessState): void {
    this.#state = state;
    this.emit('change', state);
  }

  #stopClock(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

/** A running sequence whose stream went: its current challenge failed (`no_face`). */
function interrupted(state: LivenessState, at: number): LivenessState {
  let failed = false;
  const challenges = state.challenges.map((c): ChallengeResult => {
    if (failed || c.status === 'passed' || c.status === 'failed') return c;
    failed = true;
    return { ...c, status: 'failed', reason: 'no_face', decidedAt: at };
  });
  return { ...state, status: 'failed', challenges };
}
