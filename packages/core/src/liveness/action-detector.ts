import { mouthGapOf, type FaceFeatures } from './face-actions.ts';

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
   * neutral jitter of this landmark net is ~±3%. 0.12 sits between the two. A smile may part the
   * lips (teeth): that stays a smile unless the gap reaches `wideOpenGap`.
   * @defaultValue 0.12
   */
  smileWidthGain?: number;
  /**
   * An open mouth parts the inner lips by at least this much more than at neutral, measured against
   * the face's size: the inner-lip gap over the inter-ocular distance (eye centre to eye centre,
   * ~63 mm in adults, not moved by any mouth shape). Not against the mouth's own width: a rounded
   * "O" narrows the mouth and a wide "aah" stretches it, so gap / width over- or under-states the
   * same opening. 0.1 is ~6 mm. At rest this net's inner-lip gap stays within ~0.045 of its median
   * (standard deviation ≤ ~0.015), so 0.1 is over twice the largest excursion at rest; a rounded
   * "O" parts the lips by ~8–15 mm (0.13–0.25), a dropped jaw by 20–40 mm. Ordinary speech opens
   * the lips as far, but only for a syllable: `openMouthHoldMs` separates the two. A gap this small
   * with the mouth widened (a smile with parted lips) is no open mouth; see `wideOpenGap`.
   * @defaultValue 0.1
   */
  openMouthGap?: number;
  /**
   * Once the mouth counts as open, it stays open down to this gap (hysteresis, as for a blink's
   * reopening): the inner-lip gap steps by ~±0.02 of the inter-ocular distance from frame to frame
   * at rest, so an opening held near `openMouthGap` would otherwise break its hold on noise. 0.06
   * is two such steps below `openMouthGap` and still above the gap's excursions at rest (≤ ~0.045).
   * @defaultValue 0.06
   */
  openMouthKeepGap?: number;
  /**
   * An opening of at least this much (inner-lip gap over inter-ocular distance, above neutral) is an
   * open mouth even when the mouth is also widened: a wide "aah" stretches the corners as a smile
   * does, but a smile parts the lips by at most ~15 mm (the teeth showing, ~0.25 of the inter-ocular
   * distance), while a dropped jaw parts them by 20–40 mm (0.3–0.6). 0.3 is ~19 mm, between the two.
   * @defaultValue 0.3
   */
  wideOpenGap?: number;
  /**
   * An open mouth must stay open this long (its first to its last consecutive open frame, ms).
   * Speech opens and closes the lips at the syllable rate, 4–6 per second, so each opening lasts
   * ~100–250 ms; a mouth opened on request is held for well over that. 300 ms is four frames at the
   * 10 fps analysis rate.
   * @defaultValue 300
   */
  openMouthHoldMs?: number;
  /**
   * A turn moves the yaw proxy at least this far from neutral (positive: `turn_left`). The proxy
   * is roughly 0.5·tan(yaw) (nose tip ~10 cm in front of the jaw line, ~3 cm in front of the eye
   * corners, on a ~14 cm-wide face), so 0.08 is a turn of ~9°; prompted turns are 20–30°, and
   * neutral jitter is ~±0.02. It is a parallax measure (the nose against the face's outline), which
   * a flat photo lacks: tilting a print moves it only by its perspective (≤ ~0.045 for a life-size
   * print ~35 cm away). Eye-width asymmetry is deliberately not used: a tilted print foreshortens
   * its far eye just as a turn does.
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
  openMouthGap: 0.1,
  openMouthKeepGap: 0.06,
  wideOpenGap: 0.3,
  openMouthHoldMs: 300,
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
  /** Inner-lip gap over inter-ocular distance (see {@link mouthGapOf}). */
  readonly mouthGap: number;
  readonly yaw: number;
  /** Frames the medians were taken over. */
  readonly frames: number;
}

/**
 * What one frame shows relative to a baseline (before any holding over frames). At most one of the
 * poses (smile, open mouth, a turn) is true: a turn first, then an open mouth, then a smile.
 */
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
    mouthGap: median(frames.map(mouthGapOf)),
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
 * - turn_left / turn_right: yaw − neutral ≥ `turnYaw` / ≤ −`turnYaw`;
 * - open_mouth (head not turned): inner-lip gap over inter-ocular distance ≥ neutral +
 *   `openMouthGap` (then kept down to `openMouthKeepGap`) with the mouth not widened for a smile,
 *   or ≥ neutral + `wideOpenGap` whatever its width; held for `openMouthHoldMs` as well;
 * - smile (head not turned, mouth not open): mouth width ≥ (1 + `smileWidthGain`) × neutral;
 * the last four held for `minPoseFrames` consecutive frames.
 *
 * A frame shows at most one of the four: a turned head is a turn, not an expression. The mouth's
 * width and opening are measured in the image plane, where a turn foreshortens the mouth's far half
 * and the landmark net's fit of its far corner degrades; and a person asked to turn may well smile
 * while doing it (a person asked to smile has already smiled before the head moves that far).
 */
export class ActionDetector {
  readonly options: Readonly<Required<ActionDetectorOptions>>;
  #neutral: FaceFeatures[] = [];
  #baseline: FeatureBaseline | null = null;
  #closedSeen = false;
  /** When the current run of open-mouth frames began (null: the last frame's mouth was not open). */
  #openSince: number | null = null;
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
    if (!positive(o.openMouthGap)) throw new TypeError('openMouthGap must be > 0');
    if (!(positive(o.openMouthKeepGap) && o.openMouthKeepGap <= o.openMouthGap)) {
      throw new TypeError('openMouthKeepGap must be in (0, openMouthGap]');
    }
    if (!(positive(o.wideOpenGap) && o.wideOpenGap >= o.openMouthGap)) {
      throw new TypeError('wideOpenGap must be ≥ openMouthGap');
    }
    if (!(Number.isFinite(o.openMouthHoldMs) && o.openMouthHoldMs >= 0)) {
      throw new TypeError('openMouthHoldMs must be ≥ 0');
    }
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
    this.#openSince = null;
    this.#runs.clear();
    this.#detected.clear();
    return this.#baseline;
  }

  /**
   * What one frame shows relative to `baseline` (default: the current window's); `mouthWasOpen`:
   * the frame before showed an open mouth, so it stays open down to `openMouthKeepGap`.
   */
  poseOf(
    features: FaceFeatures,
    baseline: FeatureBaseline | null = this.#baseline,
    mouthWasOpen = false,
  ): FramePose | null {
    if (baseline === null) return null;
    const o = this.options;
    const dyaw = features.yaw - baseline.yaw;
    const turnLeft = dyaw >= o.turnYaw;
    const turnRight = dyaw <= -o.turnYaw;
    const frontal = !turnLeft && !turnRight;
    const wide = features.mouthWidth >= (1 + o.smileWidthGain) * baseline.mouthWidth;
    const gap = mouthGapOf(features) - baseline.mouthGap;
    const parted = gap >= (mouthWasOpen ? o.openMouthKeepGap : o.openMouthGap);
    const openMouth = frontal && (gap >= o.wideOpenGap || (parted && !wide));
    return {
      eyesClosed: features.ear < o.blinkRatio * baseline.ear,
      eyesOpen: features.ear >= o.blinkReopenRatio * baseline.ear,
      smile: frontal && !openMouth && wide,
      openMouth,
      turnLeft,
      turnRight,
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
    const pose = this.poseOf(features, this.#baseline, this.#openSince !== null);
    if (pose !== null) {
      if (pose.eyesClosed) this.#closedSeen = true;
      else if (this.#closedSeen && pose.eyesOpen) this.#mark('blink', t);
      const present: Record<PoseAction, boolean> = {
        smile: pose.smile,
        open_mouth: pose.openMouth,
        turn_left: pose.turnLeft,
        turn_right: pose.turnRight,
      };
      this.#openSince = pose.openMouth ? (this.#openSince ?? t) : null;
      const held: Record<PoseAction, boolean> = {
        smile: true,
        open_mouth: this.#openSince !== null && t - this.#openSince >= this.options.openMouthHoldMs,
        turn_left: true,
        turn_right: true,
      };
      for (const action of POSES) {
        const run = present[action] ? (this.#runs.get(action) ?? 0) + 1 : 0;
        this.#runs.set(action, run);
        if (run >= this.options.minPoseFrames && held[action]) this.#mark(action, t);
      }
    }
    return new Set(this.#detected.keys());
  }

  #mark(action: FaceAction, t: number): void {
    if (!this.#detected.has(action)) this.#detected.set(action, t);
  }
}
