import { existsSync } from 'node:fs';
import path from 'node:path';
import { Embedder, type EmbedderOptions } from '../model/embedder.ts';

/** A model directory with a manifest, or (fresh from training) just `model.onnx`. */
export async function loadModelForEval(dir: string, options: EmbedderOptions = {}): Promise<Embedder> {
  if (existsSync(path.join(dir, 'manifest.json'))) return Embedder.load(dir, options);
  return Embedder.fromOnnxFile(path.join(dir, 'model.onnx'), options);
}
