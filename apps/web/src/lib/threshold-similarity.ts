import type { ScoreMessage } from '@fv/protocol';

/** One reading the fit remembers: a smoothed distance, its similarity's logit, the threshold then. */
export interface ThresholdSample {
  readonly distance: number;
  readonly logit: number;
  readonly threshold: number;
}

/** What {@link fitThresholdSimilarity} returns: the sample to keep, and an estimate when it has one. */
export interface ThresholdFit {
  readonly sample: ThresholdSample | null;
  /** The threshold in similarity space; null: no new estimate (keep showing the previous one). */
  readonly similarity: number | null;
}

/**
 * The gauge marks the threshold in similarity space, but the server sends the threshold as a
 * distance, and similarity = sigmoid(a + b·distance) with a calibration it does not send: two
 * readings at different distances determine a and b exactly.
 *
 * Stopgap: the server is about to send the threshold's similarity in `welcome`/`state`. Once it
 * does, `<fv-verify>` shows that value and this module goes (its only caller is
 * `FvVerify.#onScore`).
 */
export function fitThresholdSimilarity(
  previous: ThresholdSample | null,
  score: Pick<ScoreMessage, 'smoothedDistance' | 'similarity' | 'threshold'>,
): ThresholdFit {
  const distance = score.smoothedDistance;
  const s = score.similarity;
  if (distance === null || s === null || s <= 1e-9 || s >= 1 - 1e-9) {
    return { sample: previous, similarity: null };
  }
  const logit = Math.log(s / (1 - s));
  if (!previous || previous.threshold !== score.threshold) {
    return { sample: { distance, logit, threshold: score.threshold }, similarity: null };
  }
  if (Math.abs(previous.distance - distance) < 0.002) return { sample: previous, similarity: null };
  const slope = (logit - previous.logit) / (distance - previous.distance);
  const at = previous.logit + slope * (score.threshold - previous.distance);
  const similarity = Number.isFinite(at) && slope < 0 ? 1 / (1 + Math.exp(-at)) : null;
  return { sample: previous, similarity };
}
