import { pipelineSource, preparedSource, type FaceSource } from '../eval/evaluate.ts';
import { readPreparedCrops } from '../eval/prepared-crops.ts';
import { extractFaces } from './extract-pool.ts';

/**
 * Where the evaluation CLIs get their crops: `--crops` (written earlier by `prepare`, the same
 * pipeline) or the images themselves, decoded and detected on worker threads.
 */
export async function faceSourceFor(options: {
  crops?: string | undefined;
  images?: string | undefined;
  workers?: number | undefined;
}): Promise<FaceSource> {
  if (options.crops) return preparedSource(await readPreparedCrops(options.crops));
  if (!options.images) throw new TypeError('either crops or images is required');
  const { workers } = options;
  return pipelineSource(options.images, (files, onResult) =>
    extractFaces(files, { ...(workers !== undefined && { workers }), onResult }),
  );
}
