import {
  ActionDetector,
  type ActionDetectorOptions,
  type FaceAction,
  type FeatureBaseline,
} from './action-detector.ts';
import type { FaceFeatures } from './face-actions.ts';

/** One challenge: do `action` between `start` and `deadline` (ms, the judge's virtual clock). */
export interface Challenge {
  readonly action: FaceAction;
  readonly start: number;
  readonly deadline: number;
}

/** One analysed frame, as the server's pipeline saw it. */
export interface JudgedFrame {
  /** Capture time, ms, on the challenges' clock. */
  readonly t: number;
  /** Faces the detector / tracker counts. */
  readonly faceCount: number;
  /** Whether the subject's face matched the reference on this frame. */
  readonly matched: boolean;
  /** The subject's features, or null when no landmarks were found. */
  readonly features: FaceFeatures | null;
}

export type ChallengeFailure =
  'no_face' | 'multiple_faces' | 'identity_lost' | 'timeout' | 'wrong_action' | 'not_neutral';

export type ChallengeStatus =
  | { readonly status: 'pending' }
  | { readonly status: 'passed'; readonly at: number }
  | { readonly status: 'failed'; readonly at: number; readonly reason: ChallengeFailure };

export type ChallengeOutcome = Challenge & ChallengeStatus;

export interface ChallengeJudgeOptions {
  /** The lead-in before each challenge whose frames form its neutral baseline, ms. @defaultValue 1000 */
  neutralMs?: number;
  /**
   * Frames without exactly one face (the detector missed a frame, or saw a second box for a moment)
   * are skipped while such a run lasts at most this long; longer fails the challenge (`no_face`,
   * `multiple_faces`). A live Haar search misses single frames (motion blur, a turned head); 300 ms
   * is three frames at 10 fps, shorter than any challenged action, and as long as the verdict
   * tracker's own confirmation of a lost face. @defaultValue 300
   */
  maxGapMs?: number;
  /**
   * After a challenge passes, the next one's lead-in starts at once (its start moves to the pass +
   * `neutralMs`, its window keeps its length) instead of waiting for its scheduled start: how a
   * live session runs. Offline replays keep the fixed schedule. @defaultValue false
   */
  chained?: boolean;
  /** How actions are detected (see {@link ActionDetector}). @defaultValue DEFAULT_ACTION_DETECTOR_OPTIONS */
  detector?: ActionDetectorOptions;
}

export const DEFAULT_CHALLENGE_JUDGE_OPTIONS: Readonly<Required<Omit<ChallengeJudgeOptions, 'detector'>>> = {
  neutralMs: 1000,
  maxGapMs: 300,
  chained: false,
};

/**
 * Judges a sequence of liveness challenges from the frames the server analysed; pure and
 * synchronous, on the frames' own clock, so a recorded session replays exactly.
 *
 * From the first challenge's lead-in (`start − neutralMs`) until the last decision, every analysed
 * frame must show exactly one face with landmarks that matches the reference (else `no_face`,
 * `multiple_faces`, `identity_lost`). Each challenge's baseline is the median of the lead-in frames
 * before its `start` (after the previous decision); from the second challenge on, only lead-in
 * frames that look neutral against the previous baseline count, so a head still turned from the
 * last challenge is not taken as neutral. Fewer than `minNeutralFrames` of them: `not_neutral`.
 * In the window, the challenge passes as soon as its action is complete; any other challenge's
 * action there first (or on the same frame) is `wrong_action`; nothing by the deadline is `timeout`.
 * The first failure decides the sequence; later challenges stay pending.
 */
export class ChallengeJudge {
  readonly options: Readonly<Required<Omit<ChallengeJudgeOptions, 'detector'>>>;
  readonly #challenges: Challenge[];
  readonly #status: ChallengeStatus[];
  readonly #detector: ActionDetector;
  #current = 0;
  #inWindow = false;
  #lastBaseline: FeatureBaseline | null = null;
  /** When the previous challenge was decided (its lead-in frames come after it). */
  #decidedAt = -Infinity;
  #failed = false;
  /** Since when the frames have not shown exactly one face (null: the last one did). */
  #gapSince: number | null = null;

  constructor(challenges: readonly Challenge[], options: ChallengeJudgeOptions = {}) {
    const { detector, ...rest } = options;
    this.options = { ...DEFAULT_CHALLENGE_JUDGE_OPTIONS, ...rest };
    if (!(Number.isFinite(this.options.neutralMs) && this.options.neutralMs > 0)) {
      throw new TypeError('neutralMs must be > 0');
    }
    if (!(Number.isFinite(this.options.maxGapMs) && this.options.maxGapMs >= 0)) {
      throw new TypeError('maxGapMs must be ≥ 0');
    }
    if (challenges.length === 0) throw new TypeError('at least one challenge is needed');
    challenges.forEach((c, i) => {
      if (!(Number.isFinite(c.start) && Number.isFinite(c.deadline) && c.deadline > c.start)) {
        throw new TypeError(`challenge ${i}: deadline must come after start`);
      }
      if (i > 0 && c.start < challenges[i - 1]!.deadline) {
        throw new TypeError(`challenge ${i} starts before challenge ${i - 1}'s deadline`);
      }
    });
    this.#detector = new ActionDetector(detector);
    this.#challenges = challenges.map((c) => ({ ...c }));
    this.#status = challenges.map(() => ({ status: 'pending' }));
  }

  /** Every challenge with its status so far. */
  get outcomes(): ChallengeOutcome[] {
    return this.#challenges.map((c, i) => ({ ...c, ...this.#status[i]! }));
  }

  get overall(): 'pending' | 'passed' | 'failed' {
    if (this.#failed) return 'failed';
    return this.#current >= this.#challenges.length ? 'passed' : 'pending';
  }

  /**
   * The clock reached `t` without a frame (or before the frame at `t`): starts windows and times
   * out challenges whose deadline has passed.
   */
  handleTime(t: number): void {
    while (this.overall === 'pending') {
      const c = this.#challenges[this.#current]!;
      if (!this.#inWindow) {
        if (t < c.start) return;
        this.#lastBaseline = this.#detector.begin() ?? this.#lastBaseline;
        if (this.#detector.baseline === null) {
          this.#fail('not_neutral', c.start);
          return;
        }
        this.#inWindow = true;
      }
      if (t <= c.deadline) return;
      this.#fail('timeout', c.deadline);
    }
  }

  /** One analysed frame, in time order. Returns the overall state after it. */
  handleFrame(frame: JudgedFrame): 'pending' | 'passed' | 'failed' {
    this.handleTime(frame.t);
    if (this.overall !== 'pending') return this.overall;
    const c = this.#challenges[this.#current]!;
    if (!this.#inWindow && frame.t < c.start - this.options.neutralMs && this.#current === 0) {
      return this.overall; // before the sequence: nothing is judged yet
    }
    const features = frame.features;
    if (frame.faceCount !== 1 || features === null) {
      // Skipped while the run of such frames is short; a long one fails.
      this.#gapSince ??= frame.t;
      if (frame.t - this.#gapSince > this.options.maxGapMs) {
        this.#fail(frame.faceCount > 1 ? 'multiple_faces' : 'no_face', frame.t);
      }
      return this.overall;
    }
    this.#gapSince = null;
    if (!frame.matched) this.#fail('identity_lost', frame.t);
    if (this.#failed) return this.overall;

    if (!this.#inWindow) {
      const leadIn = frame.t >= c.start - this.options.neutralMs && frame.t > this.#decidedAt;
      const neutral = this.#lastBaseline === null || this.#detector.isNeutral(features, this.#lastBaseline);
      if (leadIn && neutral) this.#detector.addNeutral(features);
      return this.overall;
    }
    // A frame captured before the window opened cannot answer it (it may arrive after).
    if (frame.t < c.start) return this.overall;
    const seen = this.#detector.observe(frame.t, features);
    const others = this.#challenges.some((o) => o.action !== c.action && seen.has(o.action));
    if (others) this.#fail('wrong_action', frame.t);
    else if (seen.has(c.action)) this.#pass(frame.t);
    return this.overall;
  }

  #pass(at: number): void {
    this.#status[this.#current] = { status: 'passed', at };
    this.#next(at);
  }

  #fail(reason: ChallengeFailure, at: number): void {
    this.#status[this.#current] = { status: 'failed', at, reason };
    this.#failed = true;
    this.#next(at);
  }

  #next(at: number): void {
    this.#current++;
    this.#inWindow = false;
    this.#decidedAt = at;
    const next = this.#challenges[this.#current];
    if (this.options.chained && !this.#failed && next !== undefined) {
      const start = at + this.options.neutralMs;
      this.#challenges[this.#current] = { ...next, start, deadline: start + (next.deadline - next.start) };
    }
  }
}
