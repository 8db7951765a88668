// Synthetic faces for the liveness tests: a frontal 68-point iBUG face and edits of it.
import type { FaceFeatures } from './face-actions.ts';

type Pt = [number, number];

/** A frontal neutral face about 100 px wide, eyes open (EAR 0.3), lips closed. */
export function neutralFace(): Pt[] {
  const pts: Pt[] = [];
  for (let k = 0; k <= 16; k++) {
    const a = Math.PI - (k * Math.PI) / 16;
    pts.push([100 + 50 * Math.cos(a), 90 + 60 * Math.sin(a)]);
  }
  for (let k = 0; k < 5; k++) pts.push([60 + 7 * k, 70]);
  for (let k = 0; k < 5; k++) pts.push([112 + 7 * k, 70]);
  for (let k = 0; k < 4; k++) pts.push([100, 75 + 10 * k]);
  for (let k = 0; k < 5; k++) pts.push([90 + 5 * k, 110]);
  for (const cx of [75, 125]) {
    pts.push([cx - 10, 85], [cx - 4, 82], [cx + 4, 82], [cx + 10, 85], [cx + 4, 88], [cx - 4, 88]);
  }
  pts.push(
    [80, 125],
    [87, 121],
    [94, 119],
    [100, 120],
    [106, 119],
    [113, 121],
    [120, 125],
    [113, 130],
    [106, 132],
    [100, 133],
    [94, 132],
    [87, 130],
  );
  pts.push([84, 125], [93, 124], [100, 124], [107, 124], [116, 125], [107, 126], [100, 126], [93, 126]);
  return pts;
}

export function flat(pts: readonly Pt[]): Float32Array {
  return Float32Array.from(pts.flat());
}

export function closedEyes(pts: Pt[]): Pt[] {
  for (const first of [36, 42]) for (const k of [1, 2, 4, 5]) pts[first + k]![1] = 85 + (k < 3 ? -0.5 : 0.5);
  return pts;
}

export function openMouth(pts: Pt[], by = 20): Pt[] {
  for (const i of [55, 56, 57, 58, 59, 65, 66, 67]) pts[i]![1] += by;
  return pts;
}

/** A rounded "O": the lips pushed in towards the mouth's centre by `narrow` and parted by `by`. */
export function roundMouth(pts: Pt[], by = 15, narrow = 0.8): Pt[] {
  openMouth(pts, by);
  for (let i = 48; i < 68; i++) pts[i]![0] = 100 + (pts[i]![0] - 100) * narrow;
  return pts;
}

export function wideMouth(pts: Pt[], factor = 1.25): Pt[] {
  for (let i = 48; i < 68; i++) pts[i]![0] = 100 + (pts[i]![0] - 100) * factor;
  return pts;
}

export function shiftNose(pts: Pt[], dx: number): Pt[] {
  for (let i = 27; i <= 35; i++) pts[i]![0] += dx;
  return pts;
}

/** Every point rotated by `radians` about (cx, cy), scaled by `scale` and shifted. */
export function moved(pts: readonly Pt[], radians: number, scale: number, dx: number, dy: number): Pt[] {
  const c = Math.cos(radians);
  const s = Math.sin(radians);
  return pts.map(([x, y]) => [scale * (c * x - s * y) + dx, scale * (s * x + c * y) + dy]);
}

/** Features of a neutral face in the judge tests, with overrides. */
export function features(over: Partial<FaceFeatures> = {}): FaceFeatures {
  const ear = over.ear ?? 0.3;
  return { earRight: ear, earLeft: ear, ear, mouthOpening: 0.03, mouthWidth: 0.8, yaw: 0, ...over };
}
