import type { GrayImage } from '../image/gray-image.ts';

export interface Y4mVideo {
  readonly width: number;
  readonly height: number;
  /** Frames per second from the `F<num>:<den>` header parameter. */
  readonly fps: number;
  /** Luma (Y) plane of each frame: the grayscale picture the detector and model use. */
  readonly frames: GrayImage[];
}

/**
 * Parses a YUV4MPEG2 file with 4:2:0 chroma (the format Chromium's fake camera reads). Only the
 * luma plane is kept.
 */
export function parseY4m(bytes: Uint8Array): Y4mVideo {
  const headerEnd = bytes.indexOf(0x0a);
  if (headerEnd < 0) throw new TypeError('not a Y4M file: no header line');
  const header = Buffer.from(bytes.subarray(0, headerEnd)).toString('latin1').split(' ');
  if (header[0] !== 'YUV4MPEG2') throw new TypeError('not a Y4M file: bad signature');
  let width = 0;
  let height = 0;
  let fps = 30;
  let colorspace = '420';
  for (const token of header.slice(1)) {
    const value = token.slice(1);
    if (token[0] === 'W') width = Number(value);
    else if (token[0] === 'H') height = Number(value);
    else if (token[0] === 'F') {
      const [num, den] = value.split(':').map(Number);
      if (num && den) fps = num / den;
    } else if (token[0] === 'C') colorspace = value;
  }
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new TypeError('Y4M header lacks a valid size');
  }
  if (!colorspace.startsWith('420')) throw new TypeError(`unsupported Y4M colourspace C${colorspace}`);
  const lumaSize = width * height;
  const frameSize = lumaSize + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
  const frames: GrayImage[] = [];
  let offset = headerEnd + 1;
  while (offset < bytes.length) {
    const lineEnd = bytes.indexOf(0x0a, offset);
    if (lineEnd < 0 || Buffer.from(bytes.subarray(offset, offset + 5)).toString('latin1') !== 'FRAME') {
      throw new TypeError(`bad Y4M frame header at byte ${offset}`);
    }
    const start = lineEnd + 1;
    if (start + frameSize > bytes.length) throw new TypeError('truncated Y4M frame');
    // A real copy (Buffer#slice would share the whole file's memory).
    frames.push({ width, height, data: new Uint8Array(bytes.subarray(start, start + lumaSize)) });
    offset = start + frameSize;
  }
  return { width, height, fps, frames };
}
