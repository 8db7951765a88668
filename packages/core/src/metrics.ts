/**
 * Verification metrics over labelled pair distances (smaller distance = more alike): accuracy at a
 * threshold, best threshold, ROC, AUC, EER and TAR at a fixed FAR. Pure functions.
 */

export interface LabelledDistances {
  readonly distances: ArrayLike<number>;
  readonly same: ArrayLike<boolean>;
}

export interface RocPoint {
  /** False accept rate (mismatched pairs accepted). */
  readonly far: number;
  /** True accept rate (matched pairs accepted). */
  readonly tar: number;
  readonly threshold: number;
}

function check({ distances, same }: LabelledDistances): void {
  if (distances.length !== same.length) throw new TypeError('distances and labels differ in length');
  if (distances.length === 0) throw new TypeError('no pairs');
}

export function accuracyAt(data: LabelledDistances, threshold: number): number {
  check(data);
  let correct = 0;
  for (let i = 0; i < data.distances.length; i++) {
    if (data.distances[i]! <= threshold === data.same[i]) correct++;
  }
  return correct / data.distances.length;
}

/**
 * The threshold with the highest accuracy. Candidates are midpoints between consecutive distinct
 * distances (plus both ends); ties go to the middle of the best run of thresholds.
 */
export function bestThreshold(data: LabelledDistances): { threshold: number; accuracy: number } {
  check(data);
  const order = sortedOrder(data.distances);
  const n = order.length;
  let positives = 0;
  for (let i = 0; i < n; i++) if (data.same[i]) positives++;
  // Threshold below everything: all rejected, correct = negatives.
  let correct = n - positives;
  let best = correct;
  let bestStart = -1;
  let bestEnd = -1;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    correct += data.same[i] ? 1 : -1;
    const next = k + 1 < n ? data.distances[order[k + 1]!]! : Infinity;
    if (next === data.distances[i]) continue; // only between distinct values
    if (correct > best) {
      best = correct;
      bestStart = k;
      bestEnd = k;
    } else if (correct === best && bestEnd === k - 1 && bestStart !== -1) {
      bestEnd = k;
    }
  }
  const thresholdAfter = (k: number): number => {
    if (k < 0) return data.distances[order[0]!]! - 1e-6;
    const here = data.distances[order[k]!]!;
    const next = k + 1 < n ? data.distances[order[k + 1]!]! : here + 1e-6;
    return (here + next) / 2;
  };
  const threshold =
    bestStart === -1 ? thresholdAfter(-1) : thresholdAfter(Math.floor((bestStart + bestEnd) / 2));
  return { threshold, accuracy: best / n };
}

function sortedOrder(values: ArrayLike<number>): number[] {
  return Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
}

/** ROC curve from accepting nothing to accepting everything (one point per distinct distance). */
export function rocCurve(data: LabelledDistances): RocPoint[] {
  check(data);
  const order = sortedOrder(data.distances);
  let positives = 0;
  for (let i = 0; i < order.length; i++) if (data.same[i]) positives++;
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) throw new TypeError('need both matched and mismatched pairs');
  const points: RocPoint[] = [{ far: 0, tar: 0, threshold: -Infinity }];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (data.same[i]) tp++;
    else fp++;
    const d = data.distances[i]!;
    const next = k + 1 < order.length ? data.distances[order[k + 1]!]! : Infinity;
    if (next === d) continue;
    points.push({ far: fp / negatives, tar: tp / positives, threshold: d });
  }
  return points;
}

/** Area under the ROC curve (trapezoids; equals the Mann–Whitney probability with ties at ½). */
export function auc(points: readonly RocPoint[]): number {
  let area = 0;
  for (let k = 1; k < points.length; k++) {
    const a = points[k - 1]!;
    const b = points[k]!;
    area += ((b.far - a.far) * (a.tar + b.tar)) / 2;
  }
  return area;
}

/** Equal error rate: where FAR equals FRR (1 − TAR), linearly interpolated between ROC points. */
export function equalErrorRate(points: readonly RocPoint[]): number {
  for (let k = 1; k < points.length; k++) {
    const a = points[k - 1]!;
    const b = points[k]!;
    const fa = a.far - (1 - a.tar);
    const fb = b.far - (1 - b.tar);
    if (fa <= 0 && fb >= 0) {
      if (fb === fa) return a.far;
      const t = -fa / (fb - fa);
      return a.far + t * (b.far - a.far);
    }
  }
  return 1;
}

/** Highest TAR whose FAR does not exceed `far`. */
export function tarAtFar(points: readonly RocPoint[], far: number): number {
  let best = 0;
  for (const p of points) if (p.far <= far + 1e-12 && p.tar > best) best = p.tar;
  return best;
}

export interface VerificationMetrics {
  accuracy: number;
  auc: number;
  eer: number;
  tarAtFar1e2: number;
  tarAtFar1e3: number;
  threshold: number;
  pairs: number;
}

/** All headline metrics; accuracy is measured at `threshold`. */
export function summarize(data: LabelledDistances, threshold: number): VerificationMetrics {
  const roc = rocCurve(data);
  return {
    accuracy: accuracyAt(data, threshold),
    auc: auc(roc),
    eer: equalErrorRate(roc),
    tarAtFar1e2: tarAtFar(roc, 1e-2),
    tarAtFar1e3: tarAtFar(roc, 1e-3),
    threshold,
    pairs: data.distances.length,
  };
}
