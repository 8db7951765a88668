import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { imageKey } from './prepared-crops.ts';

export interface CachedEmbedding {
  readonly embedding: Float32Array;
  /** Whether the face was found by the producer's detector (false: a fallback region was used). */
  readonly detected: boolean;
}

/**
 * Reads embeddings computed offline (e.g. by the distillation teacher in `packages/teacher`):
 * each directory holds `embeddings.f32` (float32 little-endian, rows × `meta.json` `dim`) and an
 * `index.tsv` in the `prepare` CLI's format whose `index` column is the row. Several directories
 * (shards of one run) merge into one map; a key present twice is an error.
 */
export async function readEmbeddingCache(dirs: readonly string[]): Promise<Map<string, CachedEmbedding>> {
  const out = new Map<string, CachedEmbedding>();
  for (const dir of dirs) {
    const [bytes, index, metaText] = await Promise.all([
      readFile(path.join(dir, 'embeddings.f32')),
      readFile(path.join(dir, 'index.tsv'), 'utf8'),
      readFile(path.join(dir, 'meta.json'), 'utf8'),
    ]);
    const dim = (JSON.parse(metaText) as { dim?: unknown }).dim;
    if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1)
      throw new TypeError(`${dir}/meta.json: dim must be a positive integer`);
    const lines = index.trim().split('\n');
    if (lines[0] !== 'index\tname\timage\tdetected\tfaces')
      throw new TypeError(`${dir}/index.tsv has an unexpected header`);
    // Copy: the file buffer's offset need not be 4-byte aligned.
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    for (const line of lines.slice(1)) {
      const [i, name, image, detected] = line.split('\t');
      const row = Number(i);
      if (!name || !Number.isInteger(row) || (row + 1) * dim > values.length)
        throw new TypeError(`${dir}/index.tsv: bad row ${line}`);
      const key = imageKey(name, Number(image));
      if (out.has(key)) throw new TypeError(`${key} appears twice in the embedding caches`);
      out.set(key, { embedding: values.subarray(row * dim, (row + 1) * dim), detected: detected === '1' });
    }
  }
  return out;
}
