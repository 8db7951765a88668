import { FACE_PIXELS } from '@fv/core';

// The job and result shapes are `EmbedJob` and `EmbedResult` in @fv/protocol (queue.ts); what is
// here turns crops and embeddings into the bytes those carry, and names the result channels.

/** The pub/sub channel a gateway's results are published on. */
export const resultChannel = (prefix: string, gateway: string): string => `${prefix}:results:${gateway}`;

export function packCrops(crops: Uint8Array[]): string {
  const all = Buffer.alloc(crops.length * FACE_PIXELS);
  crops.forEach((c, i) => all.set(c, i * FACE_PIXELS));
  return all.toString('base64');
}

export function unpackCrops(data: string, count: number): Uint8Array[] {
  const all = Buffer.from(data, 'base64');
  if (!Number.isInteger(count) || count < 1 || all.length !== count * FACE_PIXELS) {
    throw new TypeError(`job carries ${all.length} bytes for ${count} crops`);
  }
  return Array.from(
    { length: count },
    (_, i) => new Uint8Array(all.subarray(i * FACE_PIXELS, (i + 1) * FACE_PIXELS)),
  );
}

export function packEmbeddings(embeddings: Float32Array[]): { embeddings: string; size: number } {
  const size = embeddings[0]?.length ?? 0;
  const all = new Float32Array(embeddings.length * size);
  embeddings.forEach((e, i) => all.set(e, i * size));
  return { embeddings: Buffer.from(all.buffer, all.byteOffset, all.byteLength).toString('base64'), size };
}

export function unpackEmbeddings(data: string, size: number, count: number): Float32Array[] {
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length !== size * count * 4)
    throw new TypeError(`result carries ${bytes.length} bytes for ${count}×${size} floats`);
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return Array.from({ length: count }, (_, i) => all.slice(i * size, (i + 1) * size));
}
