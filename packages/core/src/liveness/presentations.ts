// Pure building blocks of the offline liveness suite (`npm run liveness:suite`): a seeded PRNG,
// challenge schedules, and the timelines of bona fide and attack presentations assembled from
// recorded frames, in virtual time. Nothing here reads files or clocks.
import type { FaceAction } from './action-detector.ts';
import {
  ChallengeJudge,
  type Challenge,
  type ChallengeFailure,
  type JudgedFrame,
} from './challenge-judge.ts';
import type { ChallengeJudgeOptions } from './challenge-judge.ts';

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
 * The challenges of one sequence: each has a `leadInMs` neutral lead-in, then its `windowMs`
 * window; the first lead-in starts at 0.
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

/** The challenge whose window [start, deadline] holds `t`, or -1 (a lead-in). */
export function windowAt(challenges: readonly Challenge[], t: number): number {
  return challenges.findIndex((c) => t >= c.start && t <= c.deadline);
}

/** The analysis clock: 0, step, 2·step, … up to the last deadline plus one step. */
export function analysisTicks(challenges: readonly Challenge[], analysisFps: number): number[] {
  const step = 1000 / analysisFps;
  const end = challenges[challenges.length - 1]!.deadline + step;
  const ticks: number[] = [];
  for (let k = 0; k * step <= end; k++) ticks.push(k * step);
  return ticks;
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

/** What the suite knows of a labelled clip: its rate, length and labelled ranges in ms. */
export interface LabelledClip {
  readonly fps: number;
  readonly frameCount: number;
  /** Labelled neutral ranges, ms. */
  readonly neutral: readonly (readonly [number, number])[];
  /** Labelled ranges per action, ms. */
  readonly actions: Partial<Record<FaceAction, readonly (readonly [number, number])[]>>;
}

/** One analysis tick of a presentation: its time and the recording frame shown. */
export interface TimelineFrame {
  readonly t: number;
  readonly frame: number;
}

/**
 * A cooperative person's session assembled from a labelled clip: on every analysis tick outside
 * an action, the clip's labelled neutral frames, played in real time and looped (from a random
 * point); when a challenge's window opens, one of the clip's labelled ranges of that action
 * (chosen at random), played in real time from its first frame, then neutral again. Throws when
 * the clip has no neutral frames or no range of a challenged action.
 */
export function genuineTimeline(
  clip: LabelledClip,
  challenges: readonly Challenge[],
  analysisFps: number,
  rng: Rng,
): TimelineFrame[] {
  const pool = framesInRanges(clip.neutral, clip.fps, clip.frameCount);
  if (pool.length === 0) throw new RangeError('the clip has no labelled neutral frames');
  const chosen = challenges.map((c) => {
    const ranges = clip.actions[c.action] ?? [];
    if (ranges.length === 0) throw new RangeError(`the clip has no labelled ${c.action}`);
    return ranges[randomInt(rng, ranges.length)]!;
  });
  const step = 1000 / analysisFps;
  let neutralClock = randomInt(rng, pool.length) * (1000 / clip.fps);
  return analysisTicks(challenges, analysisFps).map((t) => {
    const w = windowAt(challenges, t);
    if (w >= 0) {
      const [a, b] = chosen[w]!;
      const elapsed = t - challenges[w]!.start;
      if (a + elapsed <= b + 1e-6) return { t, frame: frameAtMs(a + elapsed, clip.fps, clip.frameCount) };
    }
    const k = Math.floor((neutralClock * clip.fps) / 1000 + 1e-6) % pool.length;
    neutralClock += step;
    return { t, frame: pool[k]! };
  });
}

/** A replay: the whole recording played unchanged from `offsetMs` (looping), whatever is asked. */
export function replayTimeline(
  fps: number,
  frameCount: number,
  challenges: readonly Challenge[],
  analysisFps: number,
  offsetMs: number,
): TimelineFrame[] {
  const durationMs = (frameCount / fps) * 1000;
  return analysisTicks(challenges, analysisFps).map((t) => {
    const ms = (offsetMs + t) % durationMs;
    return { t, frame: Math.min(frameCount - 1, Math.floor((ms * fps) / 1000 + 1e-6)) };
  });
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

/** A presentation's outcome. */
export interface PresentationResult {
  readonly passed: boolean;
  /** Why it failed (null when passed). */
  readonly reason: ChallengeFailure | null;
  /** The challenge it failed on (null when passed). */
  readonly failedAction: FaceAction | null;
}

/** Runs a ChallengeJudge over a presentation's frames (time order), deciding any challenge left. */
export function judgePresentation(
  challenges: readonly Challenge[],
  frames: Iterable<JudgedFrame>,
  options: ChallengeJudgeOptions = {},
): PresentationResult {
  const judge = new ChallengeJudge(challenges, options);
  for (const frame of frames) {
    if (judge.handleFrame(frame) !== 'pending') break;
  }
  judge.handleTime(challenges[challenges.length - 1]!.deadline + 1);
  const failed = judge.outcomes.find((o) => o.status === 'failed');
  return {
    passed: judge.overall === 'passed',
    reason: failed && failed.status === 'failed' ? failed.reason : null,
    failedAction: failed ? failed.action : null,
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
