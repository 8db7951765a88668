// Scale-free face-action features from the 68 face-api / iBUG landmarks the aligner already computes
// (jaw 0–16, brows 17–26, nose 27–35, eyes 36–41 and 42–47, outer lips 48–59, inner lips 60–67).
// Every feature is a ratio of distances on the same face, so it does not depend on the face's size
// in the frame; none is meaningful alone: ActionDetector compares them with the same person's
// neutral frames.

/** Landmarks in a 68-point iBUG layout, `[x0,y0,x1,y1,…]` (image pixels). */
export type Landmarks68 = ArrayLike<number>;

/** Per-frame features of one face; see {@link faceFeatures}. */
export interface FaceFeatures {
  /** Eye aspect ratio of the eye at landmarks 36–41 (the person's right eye, image left). */
  readonly earRight: number;
  /** Eye aspect ratio of the eye at landmarks 42–47 (the person's left eye, image right). */
  readonly earLeft: number;
  /** Mean of both eyes' aspect ratios. */
  readonly ear: number;
  /** Inner-lip gap (mean of 61–67, 62–66, 63–65) over mouth width (48–54). */
  readonly mouthOpening: number;
  /** Mouth width (48–54) over the distance between the eye centres. */
  readonly mouthWidth: number;
  /**
   * Head-yaw proxy: the nose tip's (30) offset from the face's midline (the mean of the jaw-outline
   * midpoint 0–16 and the outer-eye-corner midpoint 36–45), along the jaw axis 0→16, over the jaw
   * width. Positive: the nose is towards the image's right, i.e. in a raw (unmirrored) camera frame
   * the person turned towards their own left. Roughly sin(yaw) × 0.5 for a typical head.
   */
  readonly yaw: number;
}

function point(l: Landmarks68, i: number): [number, number] {
  return [l[2 * i]!, l[2 * i + 1]!];
}

function dist(l: Landmarks68, i: number, j: number): number {
  const [ax, ay] = point(l, i);
  const [bx, by] = point(l, j);
  return Math.hypot(ax - bx, ay - by);
}

/** The mean of landmarks `from`…`to` (inclusive), e.g. an eye's centre (36–41). */
export function centroid(l: Landmarks68, from: number, to: number): [number, number] {
  let x = 0;
  let y = 0;
  for (let i = from; i <= to; i++) {
    x += l[2 * i]!;
    y += l[2 * i + 1]!;
  }
  const n = to - from + 1;
  return [x / n, y / n];
}

function checkLandmarks(l: Landmarks68): void {
  if (l.length !== 136) throw new TypeError(`expected 68 landmarks (136 numbers), got ${l.length} numbers`);
}

/**
 * Eye aspect ratio (Soukupová & Čech 2016): (|p2−p6| + |p3−p5|) / (2 |p1−p4|) over an eye's six
 * landmarks starting at `first` (36 or 42). About 0.25–0.35 open, towards 0 closed.
 */
export function eyeAspectRatio(landmarks: Landmarks68, first: 36 | 42): number {
  checkLandmarks(landmarks);
  const p = (k: number): number => first + k;
  const width = dist(landmarks, p(0), p(3));
  if (!(width > 0)) return 0;
  return (dist(landmarks, p(1), p(5)) + dist(landmarks, p(2), p(4))) / (2 * width);
}

/** Inner-lip opening: the mean vertical gap 61–67, 62–66, 63–65 over the outer mouth width 48–54. */
export function mouthOpening(landmarks: Landmarks68): number {
  checkLandmarks(landmarks);
  const width = dist(landmarks, 48, 54);
  if (!(width > 0)) return 0;
  return innerLipGap(landmarks) / width;
}

function interocular(l: Landmarks68): number {
  const [rx, ry] = centroid(l, 36, 41);
  const [lx, ly] = centroid(l, 42, 47);
  return Math.hypot(lx - rx, ly - ry);
}

function innerLipGap(l: Landmarks68): number {
  return (dist(l, 61, 67) + dist(l, 62, 66) + dist(l, 63, 65)) / 3;
}

/** Mouth width (48–54) over the inter-ocular distance (eye centre to eye centre). */
export function mouthWidth(landmarks: Landmarks68): number {
  checkLandmarks(landmarks);
  const io = interocular(landmarks);
  if (!(io > 0)) return 0;
  return dist(landmarks, 48, 54) / io;
}

/**
 * Inner-lip gap (mean of 61–67, 62–66, 63–65) over the inter-ocular distance: how far the lips are
 * apart against the face's size, whatever the mouth's shape (a rounded "O" narrows the mouth and a
 * wide "aah" stretches it, which {@link mouthOpening}'s division by the width mixes in). Equal to
 * `mouthOpening × mouthWidth`; see {@link mouthGapOf}.
 */
export function mouthGap(landmarks: Landmarks68): number {
  checkLandmarks(landmarks);
  const io = interocular(landmarks);
  if (!(io > 0)) return 0;
  return innerLipGap(landmarks) / io;
}

/**
 * {@link mouthGap} from a frame's features: (gap / width) × (width / inter-ocular distance). Derived
 * rather than stored, so features recorded before it existed still give it.
 */
export function mouthGapOf(features: Pick<FaceFeatures, 'mouthOpening' | 'mouthWidth'>): number {
  return features.mouthOpening * features.mouthWidth;
}

/** See {@link FaceFeatures.yaw}: positive = nose towards the image's right. */
export function yawProxy(landmarks: Landmarks68): number {
  checkLandmarks(landmarks);
  const [x0, y0] = point(landmarks, 0);
  const [x16, y16] = point(landmarks, 16);
  const [e0x, e0y] = point(landmarks, 36);
  const [e1x, e1y] = point(landmarks, 45);
  const [nx, ny] = point(landmarks, 30);
  // Measured along the jaw axis rather than the image x axis, so head roll does not read as yaw.
  const ax = x16 - x0;
  const ay = y16 - y0;
  const width = Math.hypot(ax, ay);
  if (!(width > 0)) return 0;
  const mx = ((x0 + x16) / 2 + (e0x + e1x) / 2) / 2;
  const my = ((y0 + y16) / 2 + (e0y + e1y) / 2) / 2;
  return ((nx - mx) * ax + (ny - my) * ay) / (width * width);
}

/** All features of one face's 68 landmarks. */
export function faceFeatures(landmarks: Landmarks68): FaceFeatures {
  const earRight = eyeAspectRatio(landmarks, 36);
  const earLeft = eyeAspectRatio(landmarks, 42);
  return {
    earRight,
    earLeft,
    ear: (earRight + earLeft) / 2,
    mouthOpening: mouthOpening(landmarks),
    mouthWidth: mouthWidth(landmarks),
    yaw: yawProxy(landmarks),
  };
}
