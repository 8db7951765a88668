import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEmbeddingCache } from './embedding-cache.ts';

async function writeCache(dir: string, rows: [string, number, number[]][], dim: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, 'embeddings.f32'),
    Buffer.from(Float32Array.from(rows.flatMap(([, , v]) => v)).buffer),
  );
  await writeFile(
    path.join(dir, 'index.tsv'),
    `index\tname\timage\tdetected\tfaces\n${rows.map(([n, i], r) => `${r}\t${n}\t${i}\t${n === 'Ann' && i === 1 ? 0 : 1}\t1`).join('\n')}\n`,
  );
  await writeFile(path.join(dir, 'meta.json'), JSON.stringify({ dim, count: rows.length }));
}

describe('readEmbeddingCache', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fv-cache-'));
    await writeCache(
      path.join(dir, 'a'),
      [
        ['Ann', 1, [1, 2, 3]],
        ['Ann', 2, [4, 5, 6]],
      ],
      3,
    );
    await writeCache(path.join(dir, 'b'), [['Bob', 1, [7, 8, 9]]], 3);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('merges shards by image key and keeps the detected flag', async () => {
    const cache = await readEmbeddingCache([path.join(dir, 'a'), path.join(dir, 'b')]);
    expect([...cache.keys()]).toEqual(['Ann/1', 'Ann/2', 'Bob/1']);
    expect([...cache.get('Ann/2')!.embedding]).toEqual([4, 5, 6]);
    expect([...cache.get('Bob/1')!.embedding]).toEqual([7, 8, 9]);
    expect(cache.get('Ann/1')!.detected).toBe(false);
    expect(cache.get('Bob/1')!.detected).toBe(true);
  });

  it('rejects an image present in two shards', async () => {
    await expect(readEmbeddingCache([path.join(dir, 'a'), path.join(dir, 'a')])).rejects.toThrow(
      /appears twice/,
    );
  });
});
