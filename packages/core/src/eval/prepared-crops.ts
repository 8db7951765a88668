import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FACE_PIXELS } from '../image/preprocess.ts';

export interface PreparedCrop {
  readonly crop: Uint8Array;
  readonly detected: boolean;
  readonly faceCount: number;
}

/** A crop read back from a prepared directory. */
export interface StoredCrop extends PreparedCrop {
  /** Its row in crops.u8 (the order of per-row files beside it, e.g. fvtrain's view sets). */
  readonly row: number;
}

/** Key of one LFW image: `Name/N`. */
export function imageKey(name: string, image: number): string {
  return `${name}/${image}`;
}

/** Reads a directory written by the `prepare` CLI (crops.u8 + index.tsv). */
export async function readPreparedCrops(dir: string): Promise<Map<string, StoredCrop>> {
  const [bytes, index] = await Promise.all([
    readFile(path.join(dir, 'crops.u8')),
    readFile(path.join(dir, 'index.tsv'), 'utf8'),
  ]);
  const lines = index.trim().split('\n');
  if (lines[0] !== 'index\tname\timage\tdetected\tfaces')
    throw new TypeError(`${dir}/index.tsv has an unexpected header`);
  const out = new Map<string, StoredCrop>();
  for (const line of lines.slice(1)) {
    const [i, name, image, detected, faces] = line.split('\t');
    const row = Number(i);
    if (!name || !Number.isInteger(row) || (row + 1) * FACE_PIXELS > bytes.length) {
      throw new TypeError(`${dir}/index.tsv: bad row ${line}`);
    }
    out.set(imageKey(name, Number(image)), {
      crop: new Uint8Array(bytes.buffer, bytes.byteOffset + row * FACE_PIXELS, FACE_PIXELS),
      detected: detected === '1',
      faceCount: Number(faces),
      row,
    });
  }
  return out;
}
