import type { ExtractResponse } from '../cli/extract-pool.ts';
import { normalizeCrop } from '../image/preprocess.ts';
import { lfwImagePath } from '../lfw/lfw-dataset.ts';
import type { LfwPair } from '../lfw/pairs.ts';
import { bestThreshold, summarize, type VerificationMetrics } from '../metrics.ts';
import type { Embedder } from '../model/embedder.ts';
import { euclideanDistance } from '../scoring.ts';
import { imageKey, type PreparedCrop } from './prepared-crops.ts';

export interface FaceSource {
  /** Crops from the production pipeline for these LFW images, keyed by `imageKey`. */
  crops(keys: readonly string[], onDone?: () => void): Promise<Map<string, PreparedCrop>>;
}

/** Runs decode → detect → crop on the images themselves (worker threads). */
export function pipelineSource(
  imagesDir: string,
  extract: (files: string[], onResult: (r: ExtractResponse) => void) => Promise<ExtractResponse[]>,
): FaceSource {
  return {
    async crops(keys, onDone) {
      const files = keys.map((k) => {
        const slash = k.lastIndexOf('/');
        return lfwImagePath(imagesDir, k.slice(0, slash), Number(k.slice(slash + 1)));
      });
      const results = await extract(files, () => onDone?.());
      const out = new Map<string, PreparedCrop>();
      results.forEach((r, i) => {
        if (!r.ok) throw new Error(`${files[i]}: ${r.code} ${r.message}`);
        out.set(keys[i]!, { crop: r.crop, detected: r.detected, faceCount: r.faceCount });
      });
      return out;
    },
  };
}

/** Uses crops already written by the `prepare` CLI (the same pipeline, run earlier). */
export function preparedSource(prepared: Map<string, PreparedCrop>): FaceSource {
  return {
    async crops(keys, onDone) {
      const out = new Map<string, PreparedCrop>();
      for (const k of keys) {
        const c = prepared.get(k);
        if (c === undefined) throw new Error(`prepared crops lack ${k}`);
        out.set(k, c);
        onDone?.();
      }
      return out;
    },
  };
}

export function pairImageKeys(pairs: readonly LfwPair[]): string[] {
  const keys = new Set<string>();
  for (const p of pairs) {
    keys.add(imageKey(p.nameA, p.imageA));
    keys.add(imageKey(p.nameB, p.imageB));
  }
  return [...keys].sort();
}

export async function embedCrops(
  embedder: Embedder,
  crops: Map<string, PreparedCrop>,
  batch = 64,
): Promise<Map<string, Float32Array>> {
  const keys = [...crops.keys()];
  const out = new Map<string, Float32Array>();
  for (let i = 0; i < keys.length; i += batch) {
    const slice = keys.slice(i, i + batch);
    const embeddings = await embedder.embed(slice.map((k) => normalizeCrop(crops.get(k)!.crop)));
    slice.forEach((k, j) => out.set(k, embeddings[j]!));
  }
  return out;
}

export interface PairDistances {
  readonly distances: Float64Array;
  readonly same: boolean[];
  readonly folds: number[];
}

export function pairDistances(
  pairs: readonly LfwPair[],
  embeddings: Map<string, Float32Array>,
): PairDistances {
  const distances = new Float64Array(pairs.length);
  pairs.forEach((p, i) => {
    const a = embeddings.get(imageKey(p.nameA, p.imageA));
    const b = embeddings.get(imageKey(p.nameB, p.imageB));
    if (!a || !b) throw new Error(`missing embedding for pair ${i}`);
    distances[i] = euclideanDistance(a, b);
  });
  return { distances, same: pairs.map((p) => p.same), folds: pairs.map((p) => p.fold) };
}

export function selectFolds(data: PairDistances, keep: (fold: number) => boolean): PairDistances {
  const idx = data.folds.map((f, i) => (keep(f) ? i : -1)).filter((i) => i >= 0);
  return {
    distances: Float64Array.from(idx, (i) => data.distances[i]!),
    same: idx.map((i) => data.same[i]!),
    folds: idx.map((i) => data.folds[i]!),
  };
}

export interface FoldReport {
  readonly folds: VerificationMetrics[];
  readonly mean: Omit<VerificationMetrics, 'pairs'> & { pairs: number };
  readonly std: Omit<VerificationMetrics, 'pairs' | 'threshold'> & { threshold: number };
}

const METRIC_KEYS = ['accuracy', 'auc', 'eer', 'tarAtFar1e2', 'tarAtFar1e3', 'threshold'] as const;

/**
 * LFW View 2 protocol: for each fold index in `folds`, the threshold is chosen on the other folds
 * and accuracy is measured on it. `perFold(k)` gives the distances for fold k's evaluation, letting
 * each fold use its own model (trained without that fold's people). With `fixedThreshold` every
 * fold is measured at that threshold instead (chosen elsewhere, e.g. on another pair list). A subset
 * of the folds (e.g. while fold models are still being trained) reports each of them as the full run
 * would: a tested fold's figures depend only on its own model.
 */
export function crossValidate(
  folds: readonly number[],
  perFold: (k: number) => PairDistances,
  fixedThreshold?: number,
): FoldReport {
  const reports: VerificationMetrics[] = [];
  for (const k of folds) {
    const data = perFold(k);
    const test = selectFolds(data, (f) => f === k);
    const threshold = fixedThreshold ?? bestThreshold(selectFolds(data, (f) => f !== k)).threshold;
    reports.push(summarize(test, threshold));
  }
  const mean = Object.fromEntries(
    METRIC_KEYS.map((key) => [key, reports.reduce((s, r) => s + r[key], 0) / reports.length]),
  ) as Record<(typeof METRIC_KEYS)[number], number>;
  const std = Object.fromEntries(
    METRIC_KEYS.map((key) => [
      key,
      Math.sqrt(reports.reduce((s, r) => s + (r[key] - mean[key]) ** 2, 0) / reports.length),
    ]),
  ) as Record<(typeof METRIC_KEYS)[number], number>;
  return { folds: reports, mean: { ...mean, pairs: reports.reduce((s, r) => s + r.pairs, 0) }, std };
}
