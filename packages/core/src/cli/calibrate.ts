// `npm run calibrate -- --model <dir> --images <LFW dir> --pairs pairsDevTrain.txt`
// Fits a freshly trained model's threshold (best accuracy) and similarity calibration (logistic)
// on a pair list, then writes the model's manifest.json. Eval results can be merged in with
// --metrics name=file.json.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_HAAR_DETECTOR_OPTIONS } from '../detect/haar-detector.ts';
import { embedCrops, pairDistances, pairImageKeys } from '../eval/evaluate.ts';
import { CROP_MARGIN, FACE_HEIGHT, FACE_WIDTH, FALLBACK_BOX_FRACTION } from '../image/preprocess.ts';
import { parsePairs } from '../lfw/pairs.ts';
import { bestThreshold, rocCurve } from '../metrics.ts';
import { Embedder } from '../model/embedder.ts';
import { parseManifest, type ModelManifest } from '../model/manifest.ts';
import { fitLogisticCalibration } from '../scoring.ts';
import { fail, parseCli } from './args.ts';
import { cropChoiceOf, cropSpecOfPrepared, faceSourceFor, subjectOfPrepared } from './face-source.ts';
import { defaultAlignedCrop } from '../align/face-aligner.ts';
import { Progress } from './progress.ts';
import { DEFAULT_MODEL_DIR, DEFAULT_MODEL_NAME } from '../model/default-model.ts';

const USAGE = `usage: npm run calibrate -- [--model <dir>] --pairs <pairs file> [--images <dir> | --crops <dir>] [--metrics name=file.json ...]
  --model    directory with model.onnx (and training.json from training) (default: the served model,
             models/${DEFAULT_MODEL_NAME})
  --pairs    pair list the threshold and similarity calibration are fitted on (pairsDevTrain.txt)
  --images   LFW-layout images (default: $LFW_DIR); or --crops, crops from 'npm run prepare-crops'
  --align    the model takes landmark-aligned crops, cut with <model>/landmarks.onnx (implied when the
             model's manifest or the --crops directory already says so)
  --metrics  merge an eval JSON (from 'npm run eval -- --json') into manifest.metrics under name`;

const args = parseCli(
  {
    model: { type: 'string' },
    pairs: { type: 'string' },
    images: { type: 'string' },
    crops: { type: 'string' },
    align: { type: 'boolean' },
    metrics: { type: 'string', multiple: true },
    name: { type: 'string' },
    help: { type: 'boolean' },
  },
  USAGE,
);
if (!args.pairs) fail(`--pairs is required\n\n${USAGE}`);
const modelDir = args.model ?? DEFAULT_MODEL_DIR;
const imagesDir = args.images ?? process.env['LFW_DIR'];
if (!imagesDir && !args.crops) fail(`--images (or LFW_DIR) or --crops is required\n\n${USAGE}`);

const modelFile = path.join(modelDir, 'model.onnx');
const weights = await readFile(modelFile);
const list = parsePairs(await readFile(args.pairs, 'utf8'));
const keys = pairImageKeys(list.pairs);
// How this model's crops are cut: as its manifest says, as the prepared crops were cut, or --align.
// The landmark net in the model directory is hashed once, and must be the one the spec names.
const sha256Of = async (file: string): Promise<string | undefined> =>
  existsSync(file)
    ? createHash('sha256')
        .update(await readFile(file))
        .digest('hex')
    : undefined;
const preparedSpec = args.crops ? await cropSpecOfPrepared(args.crops) : undefined;
let align = (await cropChoiceOf(modelDir)) ?? (preparedSpec && { modelDir, spec: preparedSpec });
if (align) {
  const file = path.join(modelDir, align.spec.landmarks.file);
  const sha = (await sha256Of(file)) ?? 'missing';
  if (sha !== align.spec.landmarks.sha256)
    fail(`${file}: not the landmark net the crops were aligned with (${sha})`);
} else if (args.align) {
  const file = path.join(modelDir, 'landmarks.onnx');
  const sha = await sha256Of(file);
  if (sha === undefined) fail(`--align needs the landmark net at ${file}`);
  align = { modelDir, spec: defaultAlignedCrop('landmarks.onnx', sha) };
}
const source = await faceSourceFor({ crops: args.crops, images: imagesDir, align });
const progress = new Progress('faces', keys.length);
const crops = await source.crops(keys, () => progress.tick());
const embedder = await Embedder.fromOnnxFile(modelFile);
const data = pairDistances(list.pairs, await embedCrops(embedder, crops));
const { threshold, accuracy } = bestThreshold(data);
const calibration = fitLogisticCalibration(data.distances, data.same);
// Stricter thresholds for access decisions: the largest distance whose false-accept rate on the
// calibration pairs stays within the target.
const roc = rocCurve(data);
const operatingPoints = Object.fromEntries(
  (
    [
      ['far1e2', 0.01],
      ['far1e3', 0.001],
    ] as const
  ).map(([name, far]) => {
    const point = [...roc].reverse().find((p) => p.far <= far)!;
    return [
      name,
      {
        threshold: Number(point.threshold.toFixed(6)),
        far: point.far,
        tar: point.tar,
        pairsFile: path.basename(args.pairs!),
      },
    ];
  }),
);

const manifestPath = path.join(modelDir, 'manifest.json');
const previous = existsSync(manifestPath)
  ? (JSON.parse(await readFile(manifestPath, 'utf8')) as Partial<ModelManifest>)
  : {};
const training = existsSync(path.join(modelDir, 'training.json'))
  ? (JSON.parse(await readFile(path.join(modelDir, 'training.json'), 'utf8')) as Record<string, unknown>)
  : previous.training;
const metrics: Record<string, unknown> = { ...(previous.metrics ?? {}) };
metrics['calibration'] = {
  pairsFile: path.basename(args.pairs),
  pairs: list.pairs.length,
  accuracyAtThreshold: accuracy,
};
for (const spec of args.metrics ?? []) {
  const eq = spec.indexOf('=');
  if (eq < 1) fail(`--metrics expects name=file.json, got ${spec}`);
  const { folds: _folds, ...summary } = JSON.parse(await readFile(spec.slice(eq + 1), 'utf8')) as Record<
    string,
    unknown
  >;
  void _folds;
  metrics[spec.slice(0, eq)] = summary;
}

const manifest: ModelManifest = {
  name: args.name ?? previous.name ?? path.basename(path.resolve(modelDir)),
  file: 'model.onnx',
  sha256: createHash('sha256').update(weights).digest('hex'),
  bytes: weights.length,
  input: {
    name: embedder.manifest.input.name,
    shape: [null, 1, FACE_HEIGHT, FACE_WIDTH],
    dtype: 'float32',
    normalisation: 'x / 255',
  },
  output: { name: embedder.manifest.output.name, size: embedder.embeddingSize, l2Normalised: true },
  distance: 'euclidean',
  threshold: Number(threshold.toFixed(6)),
  operatingPoints,
  calibration: {
    type: 'logistic',
    slope: Number(calibration.slope.toFixed(6)),
    intercept: Number(calibration.intercept.toFixed(6)),
  },
  preprocessing: {
    decode: 'sharp → 8-bit grayscale',
    detector: {
      cascade: 'haarcascade_frontalface_default.xml',
      ...DEFAULT_HAAR_DETECTOR_OPTIONS,
      // The rule the calibration crops were cut with, when they were prepared earlier.
      subject: args.crops ? await subjectOfPrepared(args.crops) : DEFAULT_HAAR_DETECTOR_OPTIONS.subject,
    },
    crop: align
      ? {
          mode: align.spec.mode,
          landmarks: align.spec.landmarks,
          template: align.spec.template,
          maxScaleRatio: align.spec.maxScaleRatio,
          fallbackBoxFraction: FALLBACK_BOX_FRACTION,
          resample: 'similarity warp, bilinear with n×n taps per pixel (n = ⌈1/scale⌉ ≤ 4)',
        }
      : { ...CROP_MARGIN, fallbackBoxFraction: FALLBACK_BOX_FRACTION, resample: 'area average' },
  },
  metrics,
  ...(training !== undefined && { training }),
};
parseManifest(manifest, manifestPath);
await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
await embedder.close();
process.stdout.write(
  `threshold ${manifest.threshold} (accuracy ${(accuracy * 100).toFixed(2)}% on ${path.basename(args.pairs)}), ` +
    `similarity = sigmoid(${manifest.calibration.intercept} + ${manifest.calibration.slope}·d); wrote ${manifestPath}\n`,
);
