import type { Rect } from './gray-image.ts';
import type { QualityFlag } from '@fv/protocol';
import { FACE_HEIGHT, FACE_WIDTH } from './preprocess.ts';

export type { QualityFlag };

export interface QualityThresholds {
  /** Face box narrower than this (pixels) is flagged. @defaultValue 60 */
  minFaceWidth?: number;
  /** Mean crop brightness below this is flagged. @defaultValue 45 */
  minBrightness?: number;
  /** Mean crop brightness above this is flagged. @defaultValue 210 */
  maxBrightness?: number;
  /** Variance of the Laplacian of the crop below this is flagged as blurry. @defaultValue 40 */
  minSharpness?: number;
}

export const DEFAULT_QUALITY_THRESHOLDS: Required<QualityThresholds> = {
  minFaceWidth: 60,
  minBrightness: 45,
  maxBrightness: 210,
  minSharpness: 40,
};

/** Mean brightness and Laplacian variance (sharpness) of a 62×47 crop. */
export function cropStatistics(crop: Uint8Array): { brightness: number; sharpness: number } {
  let sum = 0;
  for (let i = 0; i < crop.length; i++) sum += crop[i]!;
  let lapSum = 0;
  let lapSq = 0;
  let n = 0;
  for (let y = 1; y < FACE_HEIGHT - 1; y++) {
    for (let x = 1; x < FACE_WIDTH - 1; x++) {
      const i = y * FACE_WIDTH + x;
      const lap = crop[i - 1]! + crop[i + 1]! + crop[i - FACE_WIDTH]! + crop[i + FACE_WIDTH]! - 4 * crop[i]!;
      lapSum += lap;
      lapSq += lap * lap;
      n++;
    }
  }
  const mean = lapSum / n;
  return { brightness: sum / crop.length, sharpness: lapSq / n - mean * mean };
}

/** Flags that tell the user why a frame may score poorly. Pure. */
export function assessQuality(
  crop: Uint8Array,
  box: Rect,
  frame: { width: number; height: number },
  thresholds: QualityThresholds = {},
): QualityFlag[] {
  const t = { ...DEFAULT_QUALITY_THRESHOLDS, ...thresholds };
  const flags: QualityFlag[] = [];
  const { brightness, sharpness } = cropStatistics(crop);
  if (box.width < t.minFaceWidth) flags.push('too_small');
  if (brightness < t.minBrightness) flags.push('too_dark');
  if (brightness > t.maxBrightness) flags.push('too_bright');
  if (sharpness < t.minSharpness) flags.push('blurry');
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  if (
    Math.abs(cx - frame.width / 2) > frame.width * 0.3 ||
    Math.abs(cy - frame.height / 2) > frame.height * 0.3
  ) {
    flags.push('off_centre');
  }
  return flags;
}
