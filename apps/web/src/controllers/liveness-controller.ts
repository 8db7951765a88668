import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type {
  ChallengeMessage,
  ChallengeResult,
  Decision,
  LivenessAction,
  LivenessState,
  LivenessStatus,
} from '@fv/protocol';

/** The challenge whose window is open, timed on this page's clock. */
export interface ActiveChallenge {
  readonly index: number;
  readonly count: number;
  readonly action: LivenessAction;
  readonly windowMs: number;
  /** `performance.now()` when the window closes here (the server's `deadline` is on its clock). */
  readonly endsAt: number;
}

/**
 * Where the liveness check stands, as the widget shows it:
 * - `off`: the session has none (or the widget has not heard yet);
 * - `waiting`: no sequence yet (it is drawn once the face matches the reference);
 * - `lead-in`: a sequence is drawn and the next challenge is about to be asked (look neutral);
 * - `challenge`: a challenge's window is open;
 * - `retrying`: the person asked for another sequence after a failed one;
 * - `passed`, `failed`: the sequence was decided.
 */
export type LivenessPhase = 'off' | 'waiting' | 'lead-in' | 'challenge' | 'retrying' | 'passed' | 'failed';

/** How often the countdown is refreshed (it re-renders only when the whole seconds change). */
const TICK_MS = 200;

/**
 * The widget's liveness state: the session's {@link LivenessState} from the server, the challenge
 * being asked with its countdown, and the decision. Fed by the connection's `welcome`, `challenge`,
 * `liveness`, `score` and `state` messages; each change asks the host to update. The countdown
 * timer stops when the window closes, a decision arrives or the host leaves the document.
 */
export class LivenessController implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  readonly #now: () => number;
  #timer: ReturnType<typeof setInterval> | null = null;

  /** The session's liveness as last told in full (welcome or `liveness`); null before. */
  state: LivenessState | null = null;
  /** The latest status (scores and states carry it between `liveness` messages). */
  status: LivenessStatus | null = null;
  decision: Decision = 'pending';
  challenge: ActiveChallenge | null = null;
  /** Whole seconds left in the open window. */
  secondsLeft = 0;
  /** A retry was asked and the new sequence has not come yet. */
  retrying = false;

  constructor(host: ReactiveControllerHost, now: () => number = () => performance.now()) {
    this.#host = host;
    this.#now = now;
    host.addController(this);
  }

  hostDisconnected(): void {
    this.#stopTimer();
  }

  get phase(): LivenessPhase {
    const state = this.state;
    if (!state || state.mode === 'off' || this.status === 'off') return 'off';
    if (this.status === 'passed') return 'passed';
    if (this.status === 'failed') return this.retrying ? 'retrying' : 'failed';
    if (this.challenge) return 'challenge';
    if (this.retrying) return 'retrying';
    return state.challenges.length === 0 ? 'waiting' : 'lead-in';
  }

  /** The challenge decided last in the current sequence (for "step passed" feedback). */
  get lastDecided(): ChallengeResult | null {
    const decided = this.state?.challenges.filter((c) => c.status === 'passed' || c.status === 'failed');
    return decided?.at(-1) ?? null;
  }

  /**
   * A welcome (first or after a reconnect): the state in full. A window still open on the server
   * (after a reconnect) is shown again, counting down to its `deadline` (clamped to its length, as
   * the clocks may differ).
   */
  welcome(state: LivenessState, serverNow: number = Date.now()): void {
    this.#clearChallenge();
    this.#apply(state);
    const open = state.status === 'pending' ? state.challenges.find((c) => c.status === 'active') : undefined;
    if (open?.startsAt !== undefined && open.deadline !== undefined) {
      const left = Math.max(1, Math.min(open.deadline - open.startsAt, open.deadline - serverNow));
      const { index, action, deadline } = open;
      this.asked({ index, action, count: state.challenges.length, deadline, windowMs: left });
    }
  }

  /** A `challenge` message: its window opened. */
  asked(message: Omit<ChallengeMessage, 'type'>): void {
    this.retrying = false;
    this.challenge = {
      index: message.index,
      count: message.count,
      action: message.action,
      windowMs: message.windowMs,
      endsAt: this.#now() + message.windowMs,
    };
    this.#tick();
    this.#timer ??= setInterval(() => this.#tick(), TICK_MS);
    this.#host.requestUpdate();
  }

  /** A `liveness` message. */
  changed(state: LivenessState, decision: Decision): void {
    this.decision = decision;
    // The open window ends with its decision (or a new sequence); an `active` or stale entry keeps it.
    const open = this.challenge;
    const asked = open ? state.challenges[open.index] : undefined;
    const decided = asked?.status === 'passed' || asked?.status === 'failed';
    if (open && (state.status !== 'pending' || decided || asked?.action !== open.action))
      this.#clearChallenge();
    this.#apply(state);
  }

  /** A score or state's status (and a score's decision). */
  update(status: LivenessStatus, decision?: Decision): void {
    if (status === this.status && (decision === undefined || decision === this.decision)) return;
    this.status = status;
    if (decision !== undefined) this.decision = decision;
    if (status !== 'pending') this.#clearChallenge();
    this.#host.requestUpdate();
  }

  /** The person asked for another sequence. */
  retryAsked(): void {
    this.retrying = true;
    this.#host.requestUpdate();
  }

  /** The server answered with an error: a retry in flight was refused (the sequence stays failed). */
  errored(): void {
    if (!this.retrying) return;
    this.retrying = false;
    this.#host.requestUpdate();
  }

  /** A new session: nothing carries over. */
  reset(): void {
    this.#clearChallenge();
    this.state = null;
    this.status = null;
    this.decision = 'pending';
    this.retrying = false;
    this.#host.requestUpdate();
  }

  #apply(state: LivenessState): void {
    // A new sequence (or the old one no longer failed) answers the retry.
    if (this.retrying && (state.status !== 'failed' || state.attempt > (this.state?.attempt ?? 0))) {
      this.retrying = false;
    }
    this.state = state;
    this.status = state.status;
    this.#host.requestUpdate();
  }

  #tick(): void {
    const challenge = this.challenge;
    if (!challenge) return this.#stopTimer();
    const left = Math.max(0, Math.ceil((challenge.endsAt - this.#now()) / 1000));
    if (left !== this.secondsLeft) {
      this.secondsLeft = left;
      this.#host.requestUpdate();
    }
    if (left === 0) this.#stopTimer();
  }

  #clearChallenge(): void {
    this.challenge = null;
    this.secondsLeft = 0;
    this.#stopTimer();
  }

  #stopTimer(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
