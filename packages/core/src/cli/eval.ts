// `npm run eval -- --pairs <file> --images <dir> [--model <dir>] [--json <out>] [--roc <out.png|svg>]`
// LFW-protocol evaluation through the production pipeline (decode → detect → crop → embed).
import { existsSync } from 'node:fs';
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { LfwPairList } from '../lfw/pairs.ts';
import { bestThreshold, rocCurve, summarize } from '../metrics.ts';
import {
  crossValidate,
  embedCrops,
  pairDistances,
  pairImageKeys,
  type PairDistances,
} from '../eval/evaluate.ts';
import { readEmbeddingCache } from '../eval/embedding-cache.ts';
import { loadModelForEval } from '../eval/load-model.ts';
import type { PreparedCrop } from '../eval/prepared-crops.ts';
import { renderRocSvg } from '../eval/roc-svg.ts';
import { fail, parseCli, readPairsOrFail } from './args.ts';
import { DEFAULT_HAAR_DETECTOR_OPTIONS } from '../detect/haar-detector.ts';
import {
  cropChoiceOf,
  cropSpecOfPrepared,
  faceSourceFor,
  subjectOfPrepared,
  type CropChoice,
} from './face-source.ts';
import { Progress } from './progress.ts';
import { DEFAULT_MODEL_DIR, DEFAULT_MODEL_NAME } from '../model/default-model.ts';
import type { Embedder } from '../model/embedder.ts';

const USAGE = `usage: npm run eval -- --pairs <pairs file> --images <dir> [--model <dir>] [--json <out.json>] [--roc <out.png|svg>]
              [--threshold-from <pairs file>] [--fold-models <dir with {fold}>] [--crops <prepared dir>] [--workers N]
              [--embeddings <cache dir>[,<cache dir>…]] [--folds K,K…]
  --pairs           LFW pair list: header "N" or "folds<TAB>N", then "name i j" / "name i name2 j"
  --images          LFW-layout image directory (default: $LFW_DIR)
  --model           model directory (manifest.json + weights, or a bare model.onnx) (default: the served model, models/${DEFAULT_MODEL_NAME})
  --threshold-from  choose the threshold on this pair list and apply it unchanged
  --fold-models     one model per fold, e.g. /tmp/v2/fold{fold} (View 2 without the tested fold's people)
  --folds           test only these folds (0-based, e.g. 0,1,2 while the other fold models are still training);
                    each fold's figures depend only on its own model, so they are the full run's
  --crops           reuse crops written by 'npm run prepare-crops' (same pipeline) instead of re-detecting
  --embeddings      score embeddings computed offline (e.g. the distillation teacher, packages/teacher)
                    instead of a model: directories with embeddings.f32 + index.tsv + meta.json
  --every N         keep every Nth pair only (a fixed subset, e.g. for quick regression checks)
  --json            write the metrics as JSON
  --roc             write the ROC curve (.svg, or .png)`;

const args = parseCli(
  {
    pairs: { type: 'string' },
    images: { type: 'string' },
    model: { type: 'string' },
    json: { type: 'string' },
    roc: { type: 'string' },
    'threshold-from': { type: 'string' },
    'fold-models': { type: 'string' },
    crops: { type: 'string' },
    embeddings: { type: 'string' },
    workers: { type: 'string' },
    every: { type: 'string' },
    folds: { type: 'string' },
    help: { type: 'boolean' },
  },
  USAGE,
);
if (!args.pairs) fail(`--pairs is required\n\n${USAGE}`);
const imagesDir = args.images ?? process.env['LFW_DIR'];
if (!imagesDir && !args.crops && !args.embeddings) fail(`--images (or LFW_DIR) is required\n\n${USAGE}`);
const modelDir = args.model ?? DEFAULT_MODEL_DIR;
const started = performance.now();

const fullList = await readPairsOrFail(args.pairs);
const every = args.every ? Number(args.every) : 1;
if (!(Number.isInteger(every) && every >= 1)) fail('--every must be a positive integer');
const list: LfwPairList = { ...fullList, pairs: fullList.pairs.filter((_, i) => i % every === 0) };
const thresholdList = args['threshold-from'] ? await readPairsOrFail(args['threshold-from']) : undefined;
if (args.embeddings && args['fold-models']) fail('--embeddings and --fold-models exclude each other');
if (args['fold-models'] && (list.folds < 2 || !args['fold-models'].includes('{fold}'))) {
  fail('--fold-models needs a multi-fold pairs file and a path containing {fold}');
}
const testedFolds = args.folds === undefined ? undefined : parseFolds(args.folds, fullList.folds);
const foldsLabel = testedFolds ? `folds ${testedFolds.join(',')} of ${list.folds}` : `${list.folds} folds`;

// How the scored model wants its crops cut. A bare model fresh from training (no manifest yet)
// declares nothing: it is scored on prepared crops as they were cut.
const evalCropChoice = async (): Promise<CropChoice | undefined> => {
  const dir = args['fold-models']
    ? args['fold-models'].replaceAll('{fold}', String(testedFolds?.[0] ?? 0))
    : modelDir;
  if (!existsSync(path.join(dir, 'manifest.json')) && args.crops) {
    const spec = await cropSpecOfPrepared(args.crops);
    return spec && { modelDir: dir, spec };
  }
  return cropChoiceOf(dir);
};

const keys = pairImageKeys([...list.pairs, ...(thresholdList?.pairs ?? [])]);
const cache = args.embeddings ? await readEmbeddingCache(args.embeddings.split(',')) : undefined;
const crops: Map<string, { detected: boolean }> = cache
  ? new Map(
      keys.map((k) => {
        const c = cache.get(k);
        if (c === undefined) fail(`the embedding cache lacks ${k}`);
        return [k, c];
      }),
    )
  : await (
      await faceSourceFor({
        crops: args.crops,
        images: imagesDir,
        workers: args.workers ? Number(args.workers) : undefined,
        align: await evalCropChoice(),
      })
    ).crops(
      keys,
      (() => {
        const progress = new Progress('faces', keys.length);
        return () => progress.tick();
      })(),
    );
// Misses among the evaluated pairs' own images (the threshold list's images are reported apart).
const evaluatedKeys = new Set(pairImageKeys(list.pairs));
const missedFaces = [...crops].filter(([k, c]) => evaluatedKeys.has(k) && !c.detected).length;
const missedFacesThresholdSet = thresholdList
  ? pairImageKeys(thresholdList.pairs).filter((k) => !crops.get(k)!.detected).length
  : undefined;

// With --embeddings there is no model: one stand-in scores every fold from the cache.
const CACHED = Symbol('cached embeddings');
type Scorer = Embedder | typeof CACHED;
const loadScorer = (dir: string): Promise<Scorer> =>
  cache ? Promise.resolve(CACHED) : loadModelForEval(dir);
// Each model embeds the crops once; every pair list and fold it scores reuses them.
const embeddings = new Map<Scorer, Promise<Map<string, Float32Array>>>();
const distancesFor = async (model: Scorer, pairs: LfwPairList): Promise<PairDistances> => {
  let cached = embeddings.get(model);
  if (cached === undefined) {
    cached =
      model === CACHED
        ? Promise.resolve(new Map(keys.map((k) => [k, cache!.get(k)!.embedding])))
        : embedCrops(model, crops as Map<string, PreparedCrop>);
    embeddings.set(model, cached);
  }
  return pairDistances(pairs.pairs, await cached);
};
const scorers: Scorer[] = [];

let result: Record<string, unknown>;
let rocData: PairDistances;
if (list.folds > 1) {
  const folds = testedFolds ?? Array.from({ length: list.folds }, (_, k) => k);
  const perFold = new Map<number, PairDistances>();
  for (const k of folds) {
    if (args['fold-models'] || scorers.length === 0) {
      const dir = args['fold-models'] ? args['fold-models'].replaceAll('{fold}', String(k)) : modelDir;
      scorers.push(await loadScorer(dir));
    }
    perFold.set(k, await distancesFor(scorers.at(-1)!, list));
    process.stderr.write(`fold ${k + 1}/${list.folds} embedded\n`);
  }
  const fixedThreshold = thresholdList
    ? bestThreshold(await distancesFor(scorers[0]!, thresholdList)).threshold
    : undefined;
  const report = crossValidate(folds, (k) => perFold.get(k)!, fixedThreshold);
  result = {
    ...Object.fromEntries(
      Object.keys(report.std).flatMap((key) => [
        [key, report.mean[key as keyof typeof report.std]],
        [`${key}Std`, report.std[key as keyof typeof report.std]],
      ]),
    ),
    thresholdSource: thresholdList
      ? `best on ${path.basename(args['threshold-from']!)}`
      : `best on the other ${list.folds - 1} folds`,
    pairs: report.mean.pairs,
    ...(testedFolds && { testedFolds, foldsInFile: list.folds }),
    folds: report.folds,
    foldModels: args['fold-models'] ?? null,
  };
  // Pool each fold's own test pairs (scored by that fold's model) for the ROC plot.
  const tested = list.pairs.flatMap((p, i) => (perFold.has(p.fold) ? [{ p, i }] : []));
  rocData = {
    distances: Float64Array.from(tested, ({ p, i }) => perFold.get(p.fold)!.distances[i]!),
    same: tested.map(({ p }) => p.same),
    folds: tested.map(({ p }) => p.fold),
  };
} else {
  scorers.push(await loadScorer(modelDir));
  const model = scorers[0]!;
  rocData = await distancesFor(model, list);
  let threshold: number;
  let thresholdSource: string;
  if (thresholdList) {
    threshold = bestThreshold(await distancesFor(model, thresholdList)).threshold;
    thresholdSource = `best on ${path.basename(args['threshold-from']!)}`;
  } else if (model !== CACHED && Number.isFinite(model.manifest.threshold)) {
    threshold = model.manifest.threshold;
    thresholdSource = 'model manifest';
  } else {
    threshold = bestThreshold(rocData).threshold;
    thresholdSource = 'best on these pairs (optimistic: no manifest and no --threshold-from)';
  }
  result = {
    ...summarize(rocData, threshold),
    thresholdSource,
    bestAccuracy: bestThreshold(rocData).accuracy,
  };
}

const output = {
  ...result,
  missedFaces,
  images: evaluatedKeys.size,
  ...(missedFacesThresholdSet !== undefined && { missedFacesThresholdSet }),
  model: args.embeddings ? `embedding cache ${args.embeddings}` : (args['fold-models'] ?? modelDir),
  pairsFile: path.basename(args.pairs),
  ...(every > 1 && { every }),
  source: args.embeddings ? 'embedding cache' : args.crops ? 'prepared crops (same pipeline)' : 'pipeline',
  // Which detected face was the subject (the crops' own rule; the embedding cache's producer chose its own).
  ...(!args.embeddings && {
    subject: args.crops ? await subjectOfPrepared(args.crops) : DEFAULT_HAAR_DETECTOR_OPTIONS.subject,
  }),
  seconds: Math.round((performance.now() - started) / 100) / 10,
};
const pct = (v: unknown): string => (typeof v === 'number' ? `${(v * 100).toFixed(2)}%` : '-');
const pm = (key: string): string =>
  (output as Record<string, unknown>)[`${key}Std`] !== undefined
    ? ` ± ${pct((output as Record<string, unknown>)[`${key}Std`])}`
    : '';
const o = output as Record<string, unknown>;
process.stdout.write(
  [
    `pairs        ${String(o['pairs'])}  (${output.pairsFile}${list.folds > 1 ? `, ${foldsLabel}` : ''})`,
    `accuracy     ${pct(o['accuracy'])}${pm('accuracy')}`,
    `auc          ${(o['auc'] as number).toFixed(4)}${o['aucStd'] !== undefined ? ` ± ${(o['aucStd'] as number).toFixed(4)}` : ''}`,
    `eer          ${pct(o['eer'])}${pm('eer')}`,
    `tar@far=1%   ${pct(o['tarAtFar1e2'])}${pm('tarAtFar1e2')}`,
    `tar@far=0.1% ${pct(o['tarAtFar1e3'])}${pm('tarAtFar1e3')}`,
    `threshold    ${(o['threshold'] as number).toFixed(4)} (${o['thresholdSource'] as string})`,
    `missed faces ${missedFaces} of ${evaluatedKeys.size} images (centred crop used)${missedFacesThresholdSet !== undefined ? `; ${missedFacesThresholdSet} in the threshold set` : ''}`,
    `time         ${output.seconds}s`,
    '',
  ].join('\n'),
);
if (args.json) {
  await mkdir(path.dirname(path.resolve(args.json)), { recursive: true });
  await writeFile(args.json, `${JSON.stringify(output, null, 2)}\n`);
}
if (args.roc) {
  await mkdir(path.dirname(path.resolve(args.roc)), { recursive: true });
  const label = `${output.pairsFile}: AUC ${(o['auc'] as number).toFixed(3)}, acc ${pct(o['accuracy'])}`;
  const svg = renderRocSvg(
    [{ label, points: rocCurve(rocData) }],
    args['fold-models']
      ? `ROC — one model per fold, ${foldsLabel} pooled`
      : `ROC — ${path.basename(String(output.model))}`,
  );
  // PNG on request (by extension), rendered from the same SVG.
  if (args.roc.toLowerCase().endsWith('.png')) await sharp(Buffer.from(svg)).png().toFile(args.roc);
  else await writeFile(args.roc, svg);
}
await Promise.all(scorers.map((m) => (m === CACHED ? undefined : m.close())));

/** `--folds 0,3,4` → [0, 3, 4]: distinct 0-based indices of folds the pair file has. */
function parseFolds(spec: string, folds: number): number[] {
  if (folds < 2) fail('--folds needs a multi-fold pairs file');
  const picked = spec.split(',').map((part) => {
    const k = Number(part.trim());
    if (part.trim() === '' || !Number.isInteger(k) || k < 0 || k >= folds) {
      fail(`--folds: '${part}' is not a fold of this file (0 to ${folds - 1})`);
    }
    return k;
  });
  if (new Set(picked).size !== picked.length) fail(`--folds lists a fold twice: ${spec}`);
  return picked.sort((a, b) => a - b);
}
