// The cooperative person `npm run client -- --liveness-script <labels.json>` plays: neutral frames
// of the clip on a loop and, when a challenge arrives, a labelled range of that action in real time,
// then neutral again. Which source frame is on screen at time t depends only on the label file and
// the challenges received before t, so the player is pure and runs on the caller's clock.
import { isClipLabels } from '@fv/core';
import { LIVENESS_ACTIONS, type LivenessAction } from '@fv/protocol';

/** Inclusive range of source frames. */
export type FrameRange = readonly [first: number, last: number];

/** A label file checked against the clip it labels. */
export interface LivenessScript {
  /** The clip's frame rate (the labels' own). */
  readonly fps: number;
  /** The labelled neutral frames in order (the ranges one after another): looped while waiting. */
  readonly neutral: readonly number[];
  /** The labelled ranges of each action the clip shows (actions without any are absent). */
  readonly actions: ReadonlyMap<LivenessAction, readonly FrameRange[]>;
}

/** How the player answered one challenge: the range it plays from `at`, or null (none labelled). */
export interface Answer {
  readonly action: LivenessAction;
  /** When the challenge arrived, ms on the player's clock. */
  readonly at: number;
  readonly range: FrameRange | null;
}

const FORMAT = `{"fps":n,"actions":{"neutral":[[first,last],…],"smile":[…],…}} with actions among ${[
  'neutral',
  ...LIVENESS_ACTIONS,
].join(', ')} and inclusive integer ranges [first ≤ last]`;

/**
 * Reads a label file's text for a clip of `frameCount` frames at `fps`. Throws an Error saying what
 * is wrong: not JSON, not the label format, a rate other than the clip's (the indexes would point
 * at other frames), no neutral range, or a range outside the clip.
 */
export function parseLivenessScript(text: string, clip: { fps: number; frameCount: number }): LivenessScript {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON (${(error as Error).message})`);
  }
  if (!isClipLabels(value)) throw new Error(`not a label file: expected ${FORMAT}`);
  if (Math.abs(value.fps - clip.fps) > 0.01) {
    throw new Error(
      `labelled at ${value.fps} fps but the video plays at ${Number(clip.fps.toFixed(3))} fps: make the Y4M from the source at its own rate so the frame indexes match`,
    );
  }
  const last = clip.frameCount - 1;
  for (const [name, ranges] of Object.entries(value.actions)) {
    for (const [first, end] of ranges ?? []) {
      if (first < 0 || end > last) {
        throw new Error(`${name} range [${first}, ${end}] is outside the video's frames 0–${last}`);
      }
    }
  }
  const neutral = (value.actions.neutral ?? []).flatMap(([first, end]) =>
    Array.from({ length: end - first + 1 }, (_, i) => first + i),
  );
  if (neutral.length === 0) throw new Error('no neutral range: the player has nothing to show while waiting');
  const actions = new Map<LivenessAction, FrameRange[]>();
  for (const action of LIVENESS_ACTIONS) {
    const ranges = value.actions[action] ?? [];
    if (ranges.length > 0) actions.set(action, ranges);
  }
  return { fps: value.fps, neutral, actions };
}

/** Answers a challenge that arrived at `at`: a labelled range of its action picked by `random`. */
export function answerChallenge(
  script: LivenessScript,
  action: LivenessAction,
  at: number,
  random: () => number = Math.random,
): Answer {
  const ranges = script.actions.get(action);
  if (!ranges) return { action, at, range: null };
  return { action, at, range: ranges[Math.min(ranges.length - 1, Math.floor(random() * ranges.length))]! };
}

/**
 * The source frame on screen at `t` (ms on the player's clock, 0 = playback start), given the
 * answers so far (in arrival order): the answered range from its first frame at the clip's rate
 * while it lasts (a later answer cuts it short), otherwise the neutral loop, which resumes where it
 * left off.
 */
export function sourceFrameAt(script: LivenessScript, answers: readonly Answer[], t: number): number {
  const msPerFrame = 1000 / script.fps;
  const played = answers.filter((a) => a.range !== null && a.at <= t);
  let actionMs = 0;
  for (const [i, a] of played.entries()) {
    const [first, last] = a.range!;
    const end = Math.min(a.at + (last - first + 1) * msPerFrame, played[i + 1]?.at ?? Infinity);
    if (t < end) return first + Math.floor((t - a.at) / msPerFrame);
    actionMs += end - Math.max(0, a.at);
  }
  const k = Math.floor(Math.max(0, t - actionMs) / msPerFrame);
  return script.neutral[k % script.neutral.length]!;
}

/** The player on an injected clock: record challenges as they come, ask for the frame to send. */
export class ScriptPlayer {
  readonly answers: Answer[] = [];
  readonly script: LivenessScript;
  readonly #clock: () => number;
  readonly #random: () => number;

  constructor(script: LivenessScript, clock: () => number, random: () => number = Math.random) {
    this.script = script;
    this.#clock = clock;
    this.#random = random;
  }

  /** A challenge arrived now. */
  challenge(action: LivenessAction): Answer {
    const answer = answerChallenge(this.script, action, this.#clock(), this.#random);
    this.answers.push(answer);
    return answer;
  }

  /** The source frame to show now. */
  frame(): number {
    return sourceFrameAt(this.script, this.answers, this.#clock());
  }
}
