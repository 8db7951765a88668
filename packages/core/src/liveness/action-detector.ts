import type { FaceFeatures } from './face-actions.ts';

/**
 * The actions a liveness challenge can ask for. Turn directions are the person's own: `turn_left`
 * means they turn towards their left, so in a raw (unmirrored) camera frame their nose moves towards
 * the image's right (positive {@link FaceFeatures.yaw}).
 */
export type FaceAction = 'blink' | 'smile' | 'open_mouth' | 'turn_left' | 'turn_right';

export const FACE_ACTIONS: readonly FaceAction[] = [
  'blink',
  'smile',
  'open_mouth',
  'turn_left',
  'turn_right',
];

export interface ActionDetectorOptions {
  /**
   * Eyes count as closed when the mean eye aspect ratio falls below this fraction of the neutral
   * median. Soukupová & Čech (2016) threshold EAR at ~0.2 against ~0.3 open, a 30–35% drop; EAR
   * blink detectors that adapt to the person commonly use a 25–35% drop. 0.75 takes the lenient end,
   * because the 68-point net is sampled at ~10 fps and often sees a blink half-closed.
   * Caveat, measured on the shared clips (d9, frames 37–45, eyes fully shut): face-api's landmark
   * net barely follows the lids, so its EAR fell only ~8% (0.31 → 0.28), less than a smile's squint
   * (~19%). With this net no ratio separates a blink from a smile; see the eval before offering it.
   * @defaultValue 0.75
   */
  blinkRatio?: number;
  /**
   * After a closed frame, the eyes count as reopened (and the blink complete) at this fraction of
   * the neutral median: half-way back would still be a squint, so nearly the full open level.
   * @defaultValue 0.9
   */
  blinkReopenRatio?: number;
  /**
   * A smile widens the mouth (mouth width over inter-ocular distance) by at least this fraction of
   * the neutral width. Posed smiles draw each lip corner out by ~4–8 mm on a ~50 mm mouth (+15–30%);
   * neutral jitter of this landmark net is ~±3%. 0.12 sits between the two.
   * @defaultValue 0.12
   */
  smileWidthGain?: number;
  /**
   * An open mouth raises the inner-lip gap over mouth width by at least this much above neutral.
   * A deliberately opened mouth parts the lips by 20–40 mm on a ~50 mm-wide mouth (0.4–0.8); speech
   * mostly stays within 5–10 mm (0.1–0.2). 0.3 is above speech and below a deliberate opening.
   * @defaultValue 0.3
   */
  openMouthGain?: number;
  /**
   * A turn moves the yaw proxy at least this far from neutral (positive: `turn_left`). The proxy
   * is roughly 0.5·tan(yaw) (nose tip ~10 cm in front of the jaw line, ~3 cm in front of the eye
   * corners, on a ~14 cm-wide face), so 0.08 is a turn of ~9°; prompted turns are 20–30°, and
   * neutral jitter is ~±0.02.
   * @defaultValue 0.08
   */
  turnYaw?: number;
  /**
   * Smile, open mouth and turns must hold for this many consecutive analysed frames (one noisy
   * landmark frame is not an action). At the 10 fps analysis rate, 2 frames is 100–200 ms.
   * @defaultValue 2
   */
  minPoseFrames?: number;
  /** Fewest neutral frames a baseline needs. @defaultValue 3 */
  minNeutralFrames?: number;
  /** Neutral frames kept (the newest); bounds memory for a long lead-in. @defaultValue 100 */
  maxNeutralFrames?: number;
}

export const DEFAULT_ACTION_DETECTOR_OPTIONS: Readonly<Required<ActionDetectorOptions>> = {
  blinkRatio: 0.75,
  blinkReopenRatio: 0.9,
  smileWidthGain: 0.12,
  openMouthGain: 0.3,
  turnYaw: 0.08,
  minPoseFrames: 2,
  minNeutralFrames: 3,
  maxNeutralFrames: 100,
};

/** The same person's neutral face: per-feature medians over neutral frames. */
export interface FeatureBaseline {
  readonly ear: number;
  readonly mouthOpening: number;
  readonly mouthWidth: number;
  readonly yaw: number;
  /** Frames the medians were taken over. */
  readonly frames: number;
}

/** What one frame shows relative to a baseline (before any holding over frames). */
export interface FramePose {
  readonly eyesClosed: boolean;
  readonly eyesOpen: boolean;
  readonly smile: boolean;
  readonly openMouth: boolean;
  readonly turnLeft: boolean;
  readonly turnRight: boolean;
}

function median(values: number[]): number {
  const sorted = values.sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Per-feature medians (a blink or a glance in the lead-in moves a median little). */
export function baselineOf(frames: readonly FaceFeatures[]): FeatureBaseline {
  if (frames.length === 0) throw new TypeError('a baseline needs at least one frame');
  return {
    ear: median(frames.map((f) => f.ear)),
    mouthOpening: median(frames.map((f) => f.mouthOpening)),
    mouthWidth: median(frames.map((f) => f.mouthWidth)),
    yaw: median(frames.map((f) => f.yaw)),
    frames: frames.length,
  };
}

const POSES = ['smile', 'open_mouth', 'turn_left', 'turn_right'] as const;
type PoseAction = (typeof POSES)[number];

/**
 * Detects face actions relative to the same person's neutral frames. Feed it neutral frames
 * (`addNeutral`), start a window (`begin`: the baseline is frozen as their median), then `observe`
 * the window's frames in time order; it accumulates the actions completed in the window:
 * - blink: mean EAR < `blinkRatio` × neutral on ≥ 1 frame, then ≥ `blinkReopenRatio` × neutral;
 * - smile: mouth width ≥ (1 + `smileWidthGain`) × neutral, mouth not open;
 * - open_mouth: mouth opening ≥ neutral + `openMouthGain`;
 * - turn_left / turn_right: yaw − neutral ≥ `turnYaw` / ≤ −`turnYaw`;
 * the last four held for `minPoseFrames` consecutive frames.
 */
export class ActionDetector {
  readonly options: Readonly<Required<ActionDetectorOptions>>;
  #neutral: FaceFeatures[] = [];
  #baseline: FeatureBaseline | null = null;
  #closedSeen = false;
  readonly #runs = new Map<PoseAction, number>();
  readonly #detected = new Map<FaceAction, number>();

  constructor(options: ActionDetectorOptions = {}) {
    const o = { ...DEFAULT_ACTION_DETECTOR_OPTIONS, ...options };
    const fraction = (v: number): boolean => Number.isFinite(v) && v > 0 && v < 1;
    const positive = (v: number): boolean => Number.isFinite(v) && v > 0;
    if (!fraction(o.blinkRatio)) throw new TypeError('blinkRatio must be in (0, 1)');
    if (!(fraction(o.blinkReopenRatio) && o.blinkReopenRatio > o.blinkRatio)) {
      throw new TypeError('blinkReopenRatio must be in (blinkRatio, 1)');
    }
    if (!positive(o.smileWidthGain)) throw new TypeError('smileWidthGain must be > 0');
    if (!positive(o.openMouthGain)) throw new TypeError('openMouthGain must be > 0');
    if (!positive(o.turnYaw)) throw new TypeError('turnYaw must be > 0');
    if (!(Number.isInteger(o.minPoseFrames) && o.minPoseFrames >= 1)) {
      throw new TypeError('minPoseFrames must be an integer ≥ 1');
    }
    if (!(Number.isInteger(o.minNeutralFrames) && o.minNeutralFrames >= 1)) {
      throw new TypeError('minNeutralFrames must be an integer ≥ 1');
    }
    if (!(Number.isInteger(o.maxNeutralFrames) && o.maxNeutralFrames >= o.minNeutralFrames)) {
      throw new TypeError('maxNeutralFrames must be an integer ≥ minNeutralFrames');
    }
    this.options = o;
  }

  /** The baseline of the current window (null before `begin`, or without enough neutral frames). */
  get baseline(): FeatureBaseline | null {
    return this.#baseline;
  }

  /** Neutral frames collected for the next window. */
  get neutralFrames(): number {
    return this.#neutral.length;
  }

  /** Actions completed in the current window, each with the time it was first complete. */
  get detected(): ReadonlyMap<FaceAction, number> {
    return this.#detected;
  }

  /** Adds a frame the caller knows to be neutral (the lead-in before a challenge). */
  addNeutral(features: FaceFeatures): void {
    this.#neutral.push(features);
    if (this.#neutral.length > this.options.maxNeutralFrames) this.#neutral.shift();
  }

  /**
   * Starts a window: the baseline becomes the median of the neutral frames collected since the
   * last `begin` (which are then cleared), and the window's detections are reset. Returns the
   * baseline, or null (and detects nothing) with fewer than `minNeutralFrames` neutral frames.
   */
  begin(): FeatureBaseline | null {
    this.#baseline = this.#neutral.length >= this.options.minNeutralFrames ? baselineOf(this.#neutral) : null;
    this.#neutral = [];
    this.#closedSeen = false;
    this.#runs.clear();
    this.#detected.clear();
    return this.#baseline;
  }

  /** What one frame shows relative to `baseline` (default: the current window's). */
  poseOf(features: FaceFeatures, baseline: FeatureBaseline | null = this.#baseline): FramePose | null {
    if (baseline === null) return null;
    const o = this.options;
    const openMouth = features.mouthOpening >= baseline.mouthOpening + o.openMouthGain;
    const dyaw = features.yaw - baseline.yaw;
    return {
      eyesClosed: features.ear < o.blinkRatio * baseline.ear,
      eyesOpen: features.ear >= o.blinkReopenRatio * baseline.ear,
      smile: !openMouth && features.mouthWidth >= (1 + o.smileWidthGain) * baseline.mouthWidth,
      openMouth,
      turnLeft: dyaw >= o.turnYaw,
      turnRight: dyaw <= -o.turnYaw,
    };
  }

  /** Whether `features` show any action (or closed eyes) relative to `baseline`. */
  isNeutral(features: FaceFeatures, baseline: FeatureBaseline): boolean {
    const p = this.poseOf(features, baseline)!;
    return !(p.eyesClosed || p.smile || p.openMouth || p.turnLeft || p.turnRight);
  }

  /**
   * One analysed frame of the window, in time order (`t` in ms); returns the actions completed so
   * far in the window. Frames without a baseline detect nothing.
   */
  observe(t: number, features: FaceFeatures): ReadonlySet<FaceAction> {
    const pose = this.poseOf(features);
    if (pose !== null) {
      if (pose.eyesClosed) this.#closedSeen = true;
      else if (this.#closedSeen && pose.eyesOpen) this.#mark('blink', t);
      const present: Record<PoseAction, boolean> = {
        smile: pose.smile,
        open_mouth: pose.openMouth,
        turn_left: pose.turnLeft,
        turn_right: pose.turnRight,
      };
      for (const action of POSES) {
        const run = present[action] ? (this.#runs.get(action) ?? 0) + 1 : 0;
        this.#runs.set(action, run);
        if (run >= this.options.minPoseFrames) this.#mark(action, t);
      }
    }
    return new Set(this.#detected.keys());
  }

  #mark(action: FaceAction, t: number): void {
    if (!this.#detected.has(action)) this.#detected.set(action, t);
  }
}
