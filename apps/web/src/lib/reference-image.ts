import { LiveConnectionError } from './live-connection-error.ts';

/** Largest reference photo sent as is; bigger ones are scaled to `REFERENCE_MAX_SIDE` first. */
export const REFERENCE_MAX_BYTES = 2 * 1024 * 1024;
/** Long side, in pixels, a reference photo is scaled down to when it has to be re-encoded. */
export const REFERENCE_MAX_SIDE = 1280;
const SENDABLE_TYPES = ['image/jpeg', 'image/png', 'image/webp'];

/**
 * A photo the server can take: decoded here first (so a non-image fails early with
 * `UNSUPPORTED_IMAGE`), sent as is when small enough, otherwise scaled to `REFERENCE_MAX_SIDE` and
 * re-encoded as JPEG.
 */
export async function prepareReference(file: Blob): Promise<Blob> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new LiveConnectionError('UNSUPPORTED_IMAGE', 'not an image');
  }
  try {
    const scale = Math.min(1, REFERENCE_MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const sendable = SENDABLE_TYPES.includes(file.type);
    if (scale === 1 && sendable && file.size <= REFERENCE_MAX_BYTES) return file;
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d')?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.9));
    if (!blob) throw new LiveConnectionError('CORRUPT_IMAGE', 'could not re-encode');
    return blob;
  } finally {
    bitmap.close();
  }
}
