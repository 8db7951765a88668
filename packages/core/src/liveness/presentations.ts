// Pure building blocks of the offline liveness suite (`npm run liveness:suite`): a seeded PRNG,
// challenge schedules, and bona fide and attack presenters assembled from recorded frames, run
// closed-loop against the live server's (chained) ChallengeJudge in virtual time. Nothing here reads
// files, and clocks only when one is passed in (to time the judge).
import type { FaceAction } from './action-detector.ts';
import {
  ChallengeJudge,
  type Challenge,
  type ChallengeFailure,
  type ChallengeJudgeOptions,
  type ChallengeOutcome,
  type JudgedFrame,
} from './challenge-judge.ts';
import { faceFeatures, type FaceFeatures } from './face-actions.ts';

/** A uniform [0, 1) source. */
export type Rng = () => number;

/** Mulberry32: a small, fast, seeded PRNG (reproducible draws; not for drawing real challenges). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A PRNG for one named stream of a seeded run (FNV-1a of `seed:label`), so streams don't interact. */
export function rngFor(seed: number, label: string): Rng {
  let h = 0x811c9dc5;
  for (const ch of `${seed}:${label}`) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193);
  }
  return mulberry32(h);
}

/** A uniform integer in [0, n). */
export function randomInt(rng: Rng, n: number): number {
  return Math.min(n - 1, Math.floor(rng() * n));
}

/** `n` distinct items of `pool` in random order (Fisher–Yates prefix). */
export function drawDistinct<T>(rng: Rng, pool: readonly T[], n: number): T[] {
  if (!(Number.isInteger(n) && n >= 0 && n <= pool.length)) {
    throw new RangeError(`cannot draw ${n} distinct of ${pool.length}`);
  }
  const a = [...pool];
  for (let i = 0; i < n; i++) {
    const j = i + randomInt(rng, a.length - i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, n);
}

/**
 * The provisional challenges of one sequence: each has a `leadInMs` neutral lead-in, then its
 * `windowMs` window; the first lead-in starts at 0. (A chained judge moves each start after a pass.)
 */
export function scheduleChallenges(
  actions: readonly FaceAction[],
  leadInMs: number,
  windowMs: number,
): Challenge[] {
  return actions.map((action, i) => {
    const start = leadInMs + i * (leadInMs + windowMs);
    return { action, start, deadline: start + windowMs };
  });
}

/** A recording's frame at `ms` into it (nearest frame, clamped). */
export function frameAtMs(ms: number, fps: number, frameCount: number): number {
  return Math.max(0, Math.min(frameCount - 1, Math.round((ms * fps) / 1000)));
}

/** Inclusive label frame ranges at the labels' rate → inclusive ms ranges. */
export function rangesToMs(
  ranges: readonly (readonly [number, number])[],
  labelFps: number,
): [number, number][] {
  return ranges.map(([a, b]) => [(a / labelFps) * 1000, (b / labelFps) * 1000]);
}

/** Frames of a recording (at `fps`) whose time lies in one of the ms ranges. */
export function framesInRanges(
  ranges: readonly (readonly [number, number])[],
  fps: number,
  frameCount: number,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < frameCount; i++) {
    const t = (i / fps) * 1000;
    if (ranges.some(([a, b]) => t >= a - 1e-6 && t <= b + 1e-6)) out.push(i);
  }
  return out;
}

/** One recorded frame, as a presenter shows it. */
export interface ClipFrame {
  /** Faces the tracker counted. */
  readonly faces: number;
  readonly features: FaceFeatures | null;
  /** The subject's 68 landmarks `[x0,y0,…]` (a print's still), or null. */
  readonly landmarks: ArrayLike<number> | null;
}

/** What the suite knows of a labelled clip: its rate, frames and labelled ranges in ms. */
export interface LabelledClip {
  readonly fps: number;
  readonly frames: readonly ClipFrame[];
  /** Labelled neutral ranges, ms. */
  readonly neutral: readonly (readonly [number, number])[];
  /** Labelled ranges per action, ms. */
  readonly actions: Partial<Record<FaceAction, readonly (readonly [number, number])[]>>;
}

/** The challenge whose window is open: what the person was just asked, and since when. */
export interface OpenWindow {
  /** Its index in the sequence. */
  readonly index: number;
  readonly action: FaceAction;
  /** When its window opened, ms (with chaining: the previous pass + the lead-in). */
  readonly start: number;
}

/**
 * What the camera shows at analysis time `t`, given the challenge whose window is open then (null
 * in a lead-in): a presentation, closed-loop. Called once per analysis tick, in time order.
 */
export type Presenter = (t: number, window: OpenWindow | null) => JudgedFrame;

/** A recorded frame as the judge sees it at `t`. */
function shown(clip: Pick<LabelledClip, 'frames'>, t: number, frame: number, matched: boolean): JudgedFrame {
  const f = clip.frames[frame]!;
  return { t, faceCount: f.faces, matched, features: f.features };
}

export interface GenuineOptions {
  /** Whether the face matches the reference (false: another person answering). @defaultValue true */
  readonly matched?: boolean;
  /**
   * After a window closes (the challenge passed), its action keeps playing for at most this long
   * before the face is neutral again: a person relaxing a smile. @defaultValue 0
   */
  readonly settleMs?: number;
}

/**
 * A cooperative person, from a labelled clip: outside actions, the clip's labelled neutral frames,
 * looped in real time (from a random point); when a challenge's window opens, one of the clip's
 * labelled ranges of that action (chosen per challenge at random, up front) plays in real time from
 * the moment the window opened, until it ends or the window closes (plus `settleMs`), then neutral
 * again. Throws when the clip has no neutral frames or no range of one of `actions`.
 */
export function genuinePresenter(
  clip: LabelledClip,
  actions: readonly FaceAction[],
  rng: Rng,
  { matched = true, settleMs = 0 }: GenuineOptions = {},
): Presenter {
  const pool = framesInRanges(clip.neutral, clip.fps, clip.frames.length);
  if (pool.length === 0) throw new RangeError('the clip has no labelled neutral frames');
  const chosen = actions.map((action) => {
    const ranges = clip.actions[action] ?? [];
    if (ranges.length === 0) throw new RangeError(`the clip has no labelled ${action}`);
    return ranges[randomInt(rng, ranges.length)]!;
  });
  const offsetMs = randomInt(rng, pool.length) * (1000 / clip.fps);
  /** The action last asked for: its range, when its window opened, when it closed (null: open). */
  let acting: { range: readonly [number, number]; start: number; closed: number | null } | null = null;
  let actingIndex = -1;
  return (t, window) => {
    if (window !== null && window.index !== actingIndex) {
      if (window.action !== actions[window.index]) {
        throw new RangeError(`challenge ${window.index} asks ${window.action}, not ${actions[window.index]}`);
      }
      acting = { range: chosen[window.index]!, start: window.start, closed: null };
      actingIndex = window.index;
    }
    if (acting !== null && window?.index !== actingIndex) acting.closed ??= t;
    if (acting !== null && (acting.closed === null || t - acting.closed < settleMs)) {
      const [a, b] = acting.range;
      const at = a + (t - acting.start);
      if (at <= b + 1e-6) return shown(clip, t, frameAtMs(at, clip.fps, clip.frames.length), matched);
    }
    const k = Math.floor(((offsetMs + t) * clip.fps) / 1000 + 1e-6) % pool.length;
    return shown(clip, t, pool[k]!, matched);
  };
}

/** A replay: the whole recording played unchanged from `offsetMs` (looping), whatever is asked. */
export function replayPresenter(clip: Pick<LabelledClip, 'fps' | 'frames'>, offsetMs: number): Presenter {
  const count = clip.frames.length;
  const durationMs = (count / clip.fps) * 1000;
  return (t) => {
    const ms = (offsetMs + t) % durationMs;
    return shown(clip, t, Math.min(count - 1, Math.floor((ms * clip.fps) / 1000 + 1e-6)), true);
  };
}

/** A still photo's pose at one instant, relative to the face's centre. */
export interface PhotoPose {
  /** Translation, px. */
  readonly dx: number;
  readonly dy: number;
  /** Scale factor (1: as recorded). */
  readonly scale: number;
  /** In-plane rotation, radians. */
  readonly rotation: number;
  /**
   * Out-of-plane tilt of the photo about its vertical axis, radians (signed): its width shrinks by
   * cos(tilt) and, seen in perspective, its far side more than its near side.
   */
  readonly tilt: number;
}

export interface HandHeldJitter {
  /** Largest translation, px. @defaultValue 10 */
  readonly translatePx: number;
  /** Largest relative scale change. @defaultValue 0.08 */
  readonly scale: number;
  /** Largest in-plane rotation, degrees. @defaultValue 6 */
  readonly rotationDeg: number;
  /** Largest x squeeze from tilting the photo (1 − cos tilt). @defaultValue 0.1 */
  readonly squeeze: number;
}

export const DEFAULT_HAND_HELD_JITTER: HandHeldJitter = {
  translatePx: 10,
  scale: 0.08,
  rotationDeg: 6,
  squeeze: 0.1,
};

/**
 * A smooth hand-held motion: each pose parameter is a sum of two sinusoids (a slow sway at
 * 0.1–0.5 Hz and a tremor at 0.5–2 Hz, random phases) scaled so it never exceeds its bound.
 */
export function handHeldMotion(
  rng: Rng,
  jitter: HandHeldJitter = DEFAULT_HAND_HELD_JITTER,
): (t: number) => PhotoPose {
  const wave = (): ((t: number) => number) => {
    const f1 = 0.1 + 0.4 * rng();
    const f2 = 0.5 + 1.5 * rng();
    const p1 = 2 * Math.PI * rng();
    const p2 = 2 * Math.PI * rng();
    return (t) =>
      0.7 * Math.sin(2 * Math.PI * f1 * (t / 1000) + p1) + 0.3 * Math.sin(2 * Math.PI * f2 * (t / 1000) + p2);
  };
  const [wx, wy, ws, wr, wt] = [wave(), wave(), wave(), wave(), wave()];
  const maxTilt = Math.acos(1 - jitter.squeeze);
  return (t) => ({
    dx: jitter.translatePx * wx(t),
    dy: jitter.translatePx * wy(t),
    scale: 1 + jitter.scale * ws(t),
    rotation: ((jitter.rotationDeg * Math.PI) / 180) * wr(t),
    tilt: maxTilt * wt(t),
  });
}

/**
 * The 68 landmarks `[x0,y0,…]` of a flat photo of the face, posed: tilted about the vertical axis
 * through the landmarks' centre and seen in perspective from `distance` face half-widths (the
 * half-width of the jaw line 0–16), then rotated in plane, scaled and shifted about that centre.
 */
export function posePhotoLandmarks(landmarks: ArrayLike<number>, pose: PhotoPose, distance = 5): number[] {
  const n = landmarks.length / 2;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < n; i++) {
    cx += landmarks[2 * i]!;
    cy += landmarks[2 * i + 1]!;
  }
  cx /= n;
  cy /= n;
  const halfWidth = Math.hypot(landmarks[32]! - landmarks[0]!, landmarks[33]! - landmarks[1]!) / 2 || 1;
  const d = distance * halfWidth;
  const cosT = Math.cos(pose.tilt);
  const sinT = Math.sin(pose.tilt);
  const cosR = Math.cos(pose.rotation);
  const sinR = Math.sin(pose.rotation);
  const out: number[] = new Array<number>(landmarks.length);
  for (let i = 0; i < n; i++) {
    const x = landmarks[2 * i]! - cx;
    const y = landmarks[2 * i + 1]! - cy;
    // The photo plane turned by `tilt` about its vertical axis, projected from distance d.
    const z = d + x * sinT;
    const px = (x * cosT * d) / z;
    const py = (y * d) / z;
    out[2 * i] = cx + pose.dx + pose.scale * (cosR * px - sinR * py);
    out[2 * i + 1] = cy + pose.dy + pose.scale * (sinR * px + cosR * py);
  }
  return out;
}

/**
 * A hand-held photo of a face (`landmarks`, e.g. a labelled neutral frame), whatever is asked: its
 * landmarks moved by {@link handHeldMotion} and seen from `distance` face half-widths (see
 * {@link posePhotoLandmarks}); the features are recomputed on every frame.
 */
export function printPresenter(
  landmarks: ArrayLike<number>,
  rng: Rng,
  distance = 5,
  jitter: HandHeldJitter = DEFAULT_HAND_HELD_JITTER,
): Presenter {
  const motion = handHeldMotion(rng, jitter);
  return (t) => ({
    t,
    faceCount: 1,
    matched: true,
    features: faceFeatures(posePhotoLandmarks(landmarks, motion(t), distance)),
  });
}

/**
 * A swap: `photo` (the enrolled person's, which matches the reference) in every lead-in, and
 * `live` (another person answering cooperatively) whenever a window is open, judged `matched: false`.
 */
export function swapPresenter(photo: Presenter, live: Presenter): Presenter {
  return (t, window) => (window === null ? photo(t, null) : { ...live(t, window), matched: false });
}

export interface PresentationOptions {
  /** The neutral lead-in before each window, ms (the judge's `neutralMs`). */
  readonly leadInMs: number;
  /** Each challenge's window, ms. */
  readonly windowMs: number;
  /** Analysis ticks per second (the live rate is 10). */
  readonly analysisFps: number;
  /**
   * Judge options over the live server's: `{ neutralMs: leadInMs, chained: true }` and the default
   * `maxGapMs`. @defaultValue {}
   */
  readonly judge?: ChallengeJudgeOptions;
  /** A clock (ms) to time the judge's calls with; without one `judgeMs` is 0. */
  readonly clock?: () => number;
}

/** A presentation's outcome. */
export interface PresentationResult {
  readonly passed: boolean;
  /** Why it failed (null when passed). */
  readonly reason: ChallengeFailure | null;
  /** The challenge it failed on (null when passed). */
  readonly failedAction: FaceAction | null;
  /** The challenges as decided (with chaining, their moved starts and deadlines). */
  readonly outcomes: readonly ChallengeOutcome[];
  /** Frames the judge was given. */
  readonly frames: number;
  /** Time spent in the judge's handleFrame / handleTime, ms, by `clock` (0 without one). */
  readonly judgeMs: number;
}

/**
 * Runs one presentation closed-loop, as a live session does: the challenges of `actions` on the
 * provisional schedule ({@link scheduleChallenges}), judged by a {@link ChallengeJudge} with the
 * live server's options (chained). On each analysis tick t = 0, 1/fps, … the judge's clock moves to
 * t, the current challenge is the first pending one (its window open when t ≥ its start), the
 * presenter says what the camera shows, and the judge is given that frame; until it decides.
 */
export function runPresentation(
  actions: readonly FaceAction[],
  presenter: Presenter,
  options: PresentationOptions,
): PresentationResult {
  const { leadInMs, windowMs, analysisFps, clock } = options;
  if (!(analysisFps > 0)) throw new RangeError('analysisFps must be > 0');
  const challenges = scheduleChallenges(actions, leadInMs, windowMs);
  const judge = new ChallengeJudge(challenges, { neutralMs: leadInMs, chained: true, ...options.judge });
  const step = 1000 / analysisFps;
  // A chained start only moves earlier, so every challenge is decided by the last provisional deadline.
  const end = challenges[challenges.length - 1]!.deadline + step;
  let frames = 0;
  let judgeMs = 0;
  const timed = (f: () => unknown): void => {
    if (clock === undefined) {
      f();
      return;
    }
    const t0 = clock();
    f();
    judgeMs += clock() - t0;
  };
  for (let k = 0; judge.overall === 'pending'; k++) {
    const t = k * step;
    timed(() => judge.handleTime(Math.min(t, end)));
    if (judge.overall !== 'pending' || t > end) break;
    const outcomes = judge.outcomes;
    const index = outcomes.findIndex((o) => o.status === 'pending');
    const c = outcomes[index]!;
    const frame = presenter(t, t >= c.start ? { index, action: c.action, start: c.start } : null);
    timed(() => judge.handleFrame(frame));
    frames++;
  }
  const outcomes = judge.outcomes;
  const failed = outcomes.find((o) => o.status === 'failed');
  return {
    passed: judge.overall === 'passed',
    reason: failed?.status === 'failed' ? failed.reason : null,
    failedAction: failed ? failed.action : null,
    outcomes,
    frames,
    judgeMs,
  };
}

/** Wilson score interval of a proportion (95% by default). */
export function wilson(successes: number, n: number, z = 1.959964): [number, number] {
  if (n === 0) return [0, 1];
  const p = successes / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return [successes === 0 ? 0 : Math.max(0, centre - half), successes === n ? 1 : Math.min(1, centre + half)];
}
