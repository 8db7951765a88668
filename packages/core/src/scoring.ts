/**
 * Distance, threshold and similarity math. Pure functions only: no model, no I/O, so it can run in
 * any process (gateway, worker, browser) and be tested exactly.
 */

/** Maps a distance to a probability-like similarity: `sigmoid(intercept + slope · distance)`. */
export interface LogisticCalibration {
  readonly type: 'logistic';
  /** Negative for a distance metric: larger distance, lower similarity. */
  readonly slope: number;
  readonly intercept: number;
}

export function euclideanDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new TypeError(`embedding lengths differ: ${a.length} vs ${b.length}`);
  }
  if (a.length === 0) throw new TypeError('embeddings must not be empty');
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    sum += d * d;
  }
  return Math.sqrt(sum);
}

/** A pair matches when its distance is at or below the threshold (the seed's rule). */
export function isMatch(distance: number, threshold: number): boolean {
  return distance <= threshold;
}

function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** Calibrated similarity in [0, 1]. */
export function similarityFromDistance(distance: number, calibration: LogisticCalibration): number {
  if (!Number.isFinite(distance) || distance < 0) throw new TypeError('distance must be finite and ≥ 0');
  return sigmoid(calibration.intercept + calibration.slope * distance);
}

/**
 * Fits a logistic calibration `P(same | distance)` by Newton's method on labelled pair distances
 * (Platt scaling), with a small ridge term so perfectly separated data still converges.
 */
export function fitLogisticCalibration(
  distances: ArrayLike<number>,
  same: ArrayLike<boolean>,
  { iterations = 100, ridge = 1e-6 }: { iterations?: number; ridge?: number } = {},
): LogisticCalibration {
  const n = distances.length;
  if (n !== same.length) throw new TypeError('distances and labels differ in length');
  let positives = 0;
  for (let i = 0; i < n; i++) if (same[i]) positives++;
  if (positives === 0 || positives === n) throw new TypeError('need both matched and mismatched pairs');
  let a = 0; // intercept
  let b = 0; // slope
  for (let it = 0; it < iterations; it++) {
    let ga = 0,
      gb = 0,
      haa = ridge,
      hab = 0,
      hbb = ridge;
    for (let i = 0; i < n; i++) {
      const x = distances[i]!;
      const p = sigmoid(a + b * x);
      const r = p - (same[i] ? 1 : 0);
      const w = p * (1 - p);
      ga += r;
      gb += r * x;
      haa += w;
      hab += w * x;
      hbb += w * x * x;
    }
    ga += ridge * a;
    gb += ridge * b;
    const det = haa * hbb - hab * hab;
    if (!(Math.abs(det) > 0)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-10) break;
  }
  return { type: 'logistic', slope: b, intercept: a };
}
