import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { VerificationError } from '../errors.ts';
import type { GrayImage } from './gray-image.ts';
import { readImageDimensions } from './image-header.ts';
import { decodeJpegLuma } from './jpeg-luma.ts';

export interface DecodeOptions {
  /** Largest accepted encoded size. @defaultValue 20 MiB */
  maxBytes?: number;
  /** Largest accepted width × height. @defaultValue 40 megapixels */
  maxPixels?: number;
  /**
   * Longest accepted side. Decoders slow down with row length: a 16-million-pixel-wide PNG takes
   * several seconds for fewer pixels than a 6000 × 6000 one decodes in well under one.
   * @defaultValue 16,384 px
   */
  maxSide?: number;
  /** Decoding that takes longer than this is abandoned. @defaultValue 10 s */
  timeoutSeconds?: number;
}

export const DEFAULT_DECODE_OPTIONS: Required<DecodeOptions> = {
  maxBytes: 20 * 1024 * 1024,
  maxPixels: 40_000_000,
  maxSide: 16_384,
  timeoutSeconds: 10,
};

// libvips' operation cache keeps recent operations in case the same input comes again; uploads and
// frames never repeat, so it only costs: 10–15% of a small frame's decode, measured.
sharp.cache(false);

const SUPPORTED_FORMATS = new Set(['jpeg', 'png', 'webp']);

/** Recognises the container from its magic bytes, before handing anything to a decoder. */
export function sniffImageFormat(bytes: Uint8Array): 'jpeg' | 'png' | 'webp' | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (
    bytes.length >= 8 &&
    bytes[0] === 0x89 &&
    bytes[1] === 0x50 &&
    bytes[2] === 0x4e &&
    bytes[3] === 0x47 &&
    bytes[4] === 0x0d &&
    bytes[5] === 0x0a &&
    bytes[6] === 0x1a &&
    bytes[7] === 0x0a
  ) {
    return 'png';
  }
  if (
    bytes.length >= 12 &&
    String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!) === 'RIFF' &&
    String.fromCharCode(bytes[8]!, bytes[9]!, bytes[10]!, bytes[11]!) === 'WEBP'
  ) {
    return 'webp';
  }
  return null;
}

function checkDimensions(width: number, height: number, opts: Required<DecodeOptions>): void {
  if (width * height > opts.maxPixels) throw VerificationError.tooManyPixels(width * height, opts.maxPixels);
  if (Math.max(width, height) > opts.maxSide) {
    throw VerificationError.sideTooLong(width, height, opts.maxSide);
  }
}

/** The checks every decode makes before a decoder sees the bytes: size, format, header dimensions. */
function checkEncoded(input: Uint8Array, opts: Required<DecodeOptions>): 'jpeg' | 'png' | 'webp' {
  if (!(input instanceof Uint8Array)) throw new TypeError('input must be a Uint8Array or Buffer');
  if (input.length === 0) throw VerificationError.emptyImage();
  if (input.length > opts.maxBytes) throw VerificationError.imageTooLarge(input.length, opts.maxBytes);
  const format = sniffImageFormat(input);
  if (format === null) throw VerificationError.unsupportedImage();
  const header = readImageDimensions(input, format);
  if (header === null || header.width < 1 || header.height < 1) throw VerificationError.corruptImage();
  checkDimensions(header.width, header.height, opts);
  return format;
}

/**
 * The largest live JPEG decoded in the calling thread (640×480, the most a client is asked for):
 * about 2 ms of the event loop (measured). A larger one goes to sharp's threads, so a client sending big
 * frames cannot hold the event loop.
 */
const MAX_IN_THREAD_PIXELS = 640 * 480;

/**
 * Decodes a JPEG, PNG or WebP upload to 8-bit grayscale (EXIF orientation applied, alpha dropped).
 * Every failure is a {@link VerificationError} with a code; nothing else escapes. Reference photos
 * and the evaluation data go through this; live frames through {@link decodeFrame}.
 */
export async function decodeGray(input: Uint8Array, options: DecodeOptions = {}): Promise<GrayImage> {
  const opts = { ...DEFAULT_DECODE_OPTIONS, ...options };
  checkEncoded(input, opts);

  let meta: Metadata;
  try {
    meta = await sharp(input, { failOn: 'error', limitInputPixels: opts.maxPixels }).metadata();
  } catch (cause) {
    throw VerificationError.corruptImage(cause);
  }
  if (!meta.format || !SUPPORTED_FORMATS.has(meta.format)) {
    throw VerificationError.unsupportedImage(`Found ${meta.format ?? 'unknown'}.`);
  }
  if (meta.pages !== undefined && meta.pages > 1) {
    throw VerificationError.unsupportedImage('Animated images are not accepted.');
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width < 1 || height < 1) throw VerificationError.corruptImage();
  checkDimensions(width, height, opts);

  try {
    const { data, info } = await sharp(input, {
      failOn: 'error',
      limitInputPixels: opts.maxPixels,
      sequentialRead: true,
    })
      .timeout({ seconds: opts.timeoutSeconds })
      .rotate()
      .flatten({ background: '#ffffff' })
      .grayscale()
      .extractChannel(0)
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 1 || data.length !== info.width * info.height) {
      throw new Error(`unexpected raw output ${info.width}×${info.height}×${info.channels}`);
    }
    return {
      width: info.width,
      height: info.height,
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    };
  } catch (cause) {
    if (cause instanceof Error && /timeout/i.test(cause.message)) throw VerificationError.decodeTimeout();
    throw VerificationError.corruptImage(cause);
  }
}

/**
 * Decodes one live video frame (JPEG, PNG or WebP) to its luma, with no colour management. A
 * baseline JPEG (what a browser's canvas writes) is decoded in this thread by
 * {@link decodeJpegLuma}, luma only: 0.55 ms of CPU for a 320×240 colour frame against 1.1–1.2 ms
 * through sharp, which hands each frame to libuv's pool and libvips's threads (about 15 context
 * switches a frame, measured). Any other frame takes one sharp call.
 *
 * A colour frame's luma is BT.601's full-range Y (0.299 R + 0.587 G + 0.114 B of the encoded
 * values): the Y that JPEG itself stores, and the weights of the Y plane a WebRTC stream carries, so
 * the two transports hand the pipeline the same kind of picture. Taken from the JPEG or from its
 * decoded RGB, it is the same but where a colour clips. A grayscale frame is returned as decoded.
 * EXIF orientation is applied; an alpha channel is flattened onto white.
 *
 * {@link decodeGray} (reference photos, evaluation) instead converts through linear light, and
 * asks the decoder for the header first. Same checks, same error codes.
 */
export async function decodeFrame(input: Uint8Array, options: DecodeOptions = {}): Promise<GrayImage> {
  const opts = { ...DEFAULT_DECODE_OPTIONS, ...options };
  const format = checkEncoded(input, opts);
  if (format === 'jpeg') {
    const luma = decodeJpegLuma(input, MAX_IN_THREAD_PIXELS);
    if (luma !== null) return luma;
  }
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    let pipeline = sharp(input, { failOn: 'error', limitInputPixels: opts.maxPixels, sequentialRead: true })
      .timeout({ seconds: opts.timeoutSeconds })
      .rotate();
    // JPEG has no alpha; the other two may (flatten is skipped by the decoder when there is none).
    if (format !== 'jpeg') pipeline = pipeline.flatten({ background: '#ffffff' });
    decoded = await pipeline.raw().toBuffer({ resolveWithObject: true });
  } catch (cause) {
    if (cause instanceof Error && /timeout/i.test(cause.message)) throw VerificationError.decodeTimeout();
    throw VerificationError.corruptImage(cause);
  }
  const { data, info } = decoded;
  const { width, height, channels } = info;
  checkDimensions(width, height, opts);
  if (channels === 1 && data.length === width * height) {
    return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  }
  // Anything but gray or RGB (a CMYK JPEG, say) takes the colour-managed path.
  if (channels !== 3 || data.length !== width * height * 3) return decodeGray(input, options);
  return { width, height, data: rgbToLuma(data, width * height) };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * BT.601 luma of packed 8-bit RGB, in fixed point: the weights × 2^16 (19595 + 38470 + 7471 =
 * 65536), rounded. The sums stay below 2^24, so the signed shift is exact and keeps V8 in small
 * integers. Where the bytes are 4-aligned on a little-endian machine, four pixels are read as three
 * 32-bit words and written as one (a 320×240 frame: 0.12–0.18 ms, against 0.24 byte by byte, measured);
 * the byte loop does the rest. Exported for its test.
 */
export function rgbToLuma(rgb: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels);
  let first = 0;
  if (LITTLE_ENDIAN && rgb.byteOffset % 4 === 0) {
    const quads = pixels >> 2;
    const words = new Uint32Array(rgb.buffer, rgb.byteOffset, quads * 3);
    const outWords = new Uint32Array(out.buffer, 0, quads);
    for (let i = 0, j = 0; i < quads; i++, j += 3) {
      // Little-endian words: a = R0 G0 B0 R1, b = G1 B1 R2 G2, c = B2 R3 G3 B3.
      const a = words[j]!;
      const b = words[j + 1]!;
      const c = words[j + 2]!;
      const y0 = (19595 * (a & 255) + 38470 * ((a >>> 8) & 255) + 7471 * ((a >>> 16) & 255) + 32768) >> 16;
      const y1 = (19595 * (a >>> 24) + 38470 * (b & 255) + 7471 * ((b >>> 8) & 255) + 32768) >> 16;
      const y2 = (19595 * ((b >>> 16) & 255) + 38470 * (b >>> 24) + 7471 * (c & 255) + 32768) >> 16;
      const y3 = (19595 * ((c >>> 8) & 255) + 38470 * ((c >>> 16) & 255) + 7471 * (c >>> 24) + 32768) >> 16;
      outWords[i] = y0 | (y1 << 8) | (y2 << 16) | (y3 << 24);
    }
    first = quads * 4;
  }
  for (let i = first, j = first * 3; i < pixels; i++, j += 3) {
    out[i] = (19595 * rgb[j]! + 38470 * rgb[j + 1]! + 7471 * rgb[j + 2]! + 32768) >> 16;
  }
  return out;
}
