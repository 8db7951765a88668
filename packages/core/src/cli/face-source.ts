import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { alignedCropSpec, type AlignedCropSpec } from '../align/face-aligner.ts';
import { pipelineSource, preparedSource, type FaceSource } from '../eval/evaluate.ts';
import { readPreparedCrops } from '../eval/prepared-crops.ts';
import { extractFaces } from './extract-pool.ts';

/** How a model wants its crops cut: aligned (its directory holds the landmark net), or undefined for box crops. */
export interface CropChoice {
  readonly modelDir: string;
  readonly spec: AlignedCropSpec;
}

/** The crop a model directory's manifest asks for (none: box crops, or no manifest yet). */
export async function cropChoiceOf(modelDir: string): Promise<CropChoice | undefined> {
  const file = path.join(modelDir, 'manifest.json');
  if (!existsSync(file)) return undefined;
  const manifest = JSON.parse(await readFile(file, 'utf8')) as { preprocessing?: unknown };
  const spec = alignedCropSpec(manifest.preprocessing);
  return spec && { modelDir, spec };
}

/** The crop spec a `prepare` directory was cut with (undefined: box crops). */
export async function cropSpecOfPrepared(dir: string): Promise<AlignedCropSpec | undefined> {
  const meta = JSON.parse(await readFile(path.join(dir, 'meta.json'), 'utf8')) as { crop?: unknown };
  const spec = alignedCropSpec({ crop: meta.crop });
  return spec;
}

/**
 * Which detected face a `prepare` directory's crops were cut around (see
 * `HaarDetectorOptions.subject`); directories written before the option existed used `largest`.
 */
export async function subjectOfPrepared(dir: string): Promise<'centre' | 'largest'> {
  const meta = JSON.parse(await readFile(path.join(dir, 'meta.json'), 'utf8')) as {
    detector?: { subject?: unknown };
  };
  return meta.detector?.subject === 'centre' ? 'centre' : 'largest';
}

function sameAlignment(a: AlignedCropSpec, b: AlignedCropSpec): boolean {
  const key = (s: AlignedCropSpec): string =>
    JSON.stringify([s.landmarks.sha256, s.landmarks.region, s.template, s.maxScaleRatio]);
  return key(a) === key(b);
}

/**
 * Where the evaluation CLIs get their crops: `--crops` (written earlier by `prepare`, the same
 * pipeline) or the images themselves, decoded and detected on worker threads. Prepared crops must
 * have been cut the way the model wants (aligned with the same landmark net, or both box crops).
 */
export async function faceSourceFor(options: {
  crops?: string | undefined;
  images?: string | undefined;
  workers?: number | undefined;
  align?: CropChoice | undefined;
}): Promise<FaceSource> {
  const { workers, align } = options;
  if (options.crops) {
    const prepared = await cropSpecOfPrepared(options.crops);
    if ((prepared === undefined) !== (align === undefined)) {
      throw new TypeError(
        `${options.crops} holds ${prepared ? 'aligned' : 'box'} crops, but the model takes ${align ? 'aligned' : 'box'} crops`,
      );
    }
    if (prepared && align && !sameAlignment(prepared, align.spec)) {
      throw new TypeError(
        `${options.crops} was aligned differently (landmark net, region or template) than the model's crops`,
      );
    }
    return preparedSource(await readPreparedCrops(options.crops));
  }
  if (!options.images) throw new TypeError('either crops or images is required');
  return pipelineSource(options.images, (files, onResult) =>
    extractFaces(files, { ...(workers !== undefined && { workers }), align, onResult }),
  );
}
