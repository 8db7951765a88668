import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { lfwFile } from '../../../../tests/support/shared-data.ts';
import { VerificationError } from '../errors.ts';
import { decodeFrame, decodeGray, rgbToLuma, sniffImageFormat } from './decode.ts';

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(VerificationError);
    return (error as VerificationError).code;
  }
  throw new Error('expected a rejection');
}

/** A PNG whose header claims `width`×`height` (CRC-valid IHDR), with no real pixel data. */
function pngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  const type = Buffer.from('IHDR');
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let crc = 0xffffffff;
  for (const byte of Buffer.concat([type, ihdr])) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  const crcBuf = Buffer.alloc(4);
  crcBuf.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(13);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    len,
    type,
    ihdr,
    crcBuf,
  ]);
}

describe('decodeGray', () => {
  const jpeg = readFileSync(lfwFile('Aaron_Peirsol', 1));

  it('decodes a real LFW JPEG to 250×250 grayscale', async () => {
    const image = await decodeGray(jpeg);
    expect(image.width).toBe(250);
    expect(image.height).toBe(250);
    expect(image.data.length).toBe(250 * 250);
  });

  it('decodes PNG and WebP, converting colour to one channel', async () => {
    const rgb = sharp({
      create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 100, b: 50 } },
    });
    for (const encoded of [await rgb.clone().png().toBuffer(), await rgb.clone().webp().toBuffer()]) {
      const image = await decodeGray(encoded);
      expect([image.width, image.height, image.data.length]).toEqual([40, 30, 1200]);
      expect(Math.abs(image.data[0]! - 124)).toBeLessThan(8); // luma of (200,100,50)
    }
  });

  it('rejects empty input', async () => {
    expect(await codeOf(decodeGray(new Uint8Array(0)))).toBe('EMPTY_IMAGE');
  });

  it('rejects non-images and unsupported formats', async () => {
    expect(await codeOf(decodeGray(Buffer.from('definitely not an image')))).toBe('UNSUPPORTED_IMAGE');
    const gif = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
      .gif()
      .toBuffer();
    expect(await codeOf(decodeGray(gif))).toBe('UNSUPPORTED_IMAGE');
  });

  it('rejects truncated and corrupted JPEGs', async () => {
    expect(await codeOf(decodeGray(jpeg.subarray(0, 200)))).toBe('CORRUPT_IMAGE');
    expect(await codeOf(decodeGray(jpeg.subarray(0, 3)))).toBe('CORRUPT_IMAGE');
  });

  it('rejects inputs over the byte limit before decoding', async () => {
    expect(await codeOf(decodeGray(jpeg, { maxBytes: 1000 }))).toBe('IMAGE_TOO_LARGE');
    const big = Buffer.concat([jpeg, Buffer.alloc(20 * 1024 * 1024)]);
    expect(await codeOf(decodeGray(big))).toBe('IMAGE_TOO_LARGE');
  });

  it('rejects headers that claim more than 40 megapixels without allocating them', async () => {
    expect(await codeOf(decodeGray(pngHeader(8000, 6000)))).toBe('IMAGE_TOO_MANY_PIXELS');
    expect(await codeOf(decodeGray(pngHeader(100_000, 100_000)))).toBe('IMAGE_TOO_MANY_PIXELS');
    expect(await codeOf(decodeGray(pngHeader(100, 100)))).toBe('CORRUPT_IMAGE');
  });

  it('rejects a side over 16,384 px however few pixels it has, before decoding', async () => {
    expect(await codeOf(decodeGray(pngHeader(16_777_215, 2)))).toBe('IMAGE_TOO_MANY_PIXELS');
    // A valid 20,000 × 2 image: decodable, but over the side limit unless the caller raises it.
    const wide = await sharp({ create: { width: 20_000, height: 2, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const error = await decodeGray(wide).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VerificationError);
    expect((error as VerificationError).code).toBe('IMAGE_TOO_MANY_PIXELS');
    expect((error as VerificationError).message).toMatch(/20000 × 2 .*16384/);
    const image = await decodeGray(wide, { maxSide: 20_000 });
    expect([image.width, image.height, image.data[0]]).toEqual([20_000, 2, 128]);
  });

  it('sniffs formats from magic bytes only', () => {
    expect(sniffImageFormat(jpeg)).toBe('jpeg');
    expect(sniffImageFormat(pngHeader(1, 1))).toBe('png');
    expect(sniffImageFormat(Buffer.from('RIFF0000WEBP'))).toBe('webp');
    expect(sniffImageFormat(Buffer.from('GIF89a'))).toBeNull();
  });
});

describe('decodeFrame (live frames)', () => {
  const jpeg = readFileSync(lfwFile('Aaron_Peirsol', 1));

  it('is the BT.601 luma of the decoded colour values (JPEG’s own Y), within rounding', async () => {
    const { data: rgb, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    const frame = await decodeFrame(jpeg);
    expect([frame.width, frame.height]).toEqual([info.width, info.height]);
    let worst = 0;
    for (let i = 0; i < frame.data.length; i++) {
      const y = 0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!;
      worst = Math.max(worst, Math.abs(frame.data[i]! - y));
    }
    expect(worst).toBeLessThanOrEqual(0.51);
    // decodeGray (uploads) converts through linear light: close, but not the same picture.
    const gray = await decodeGray(jpeg);
    let diff = 0;
    for (let i = 0; i < gray.data.length; i++) diff += Math.abs(gray.data[i]! - frame.data[i]!);
    expect(diff / gray.data.length).toBeLessThan(4);
  });

  it('returns a grayscale frame as decoded, and flattens alpha onto white', async () => {
    const gray = await sharp(Buffer.alloc(32 * 24, 77), { raw: { width: 32, height: 24, channels: 1 } })
      .png()
      .toBuffer();
    const plain = await decodeFrame(gray);
    expect([plain.width, plain.height, plain.data.every((v) => v === 77)]).toEqual([32, 24, true]);
    const clear = await sharp({
      create: { width: 8, height: 8, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer();
    expect((await decodeFrame(clear)).data.every((v) => v === 255)).toBe(true);
    const red = await sharp({
      create: { width: 8, height: 8, channels: 3, background: { r: 255, g: 0, b: 0 } },
    })
      .webp({ lossless: true })
      .toBuffer();
    expect((await decodeFrame(red)).data[0]).toBe(76); // 0.299 × 255
  });

  it('rgbToLuma: the word-at-a-time path and the byte loop give the fixed-point luma, at any length and alignment', () => {
    let seed = 11;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (const pixels of [0, 1, 3, 4, 5, 7, 8, 333, 4096]) {
      for (const shift of [0, 1, 4]) {
        const backing = new Uint8Array(pixels * 3 + 8);
        for (let i = 0; i < backing.length; i++) backing[i] = Math.floor(random() * 256);
        // A shift of 0 or 4 keeps the view 4-aligned (the word path); 1 takes the byte loop.
        const rgb = backing.subarray(shift, shift + pixels * 3);
        const luma = rgbToLuma(rgb, pixels);
        expect(luma.length).toBe(pixels);
        for (let i = 0; i < pixels; i++) {
          const expected = Math.floor(
            (19595 * rgb[3 * i]! + 38470 * rgb[3 * i + 1]! + 7471 * rgb[3 * i + 2]! + 32768) / 65536,
          );
          if (luma[i] !== expected)
            throw new Error(`pixel ${i} of ${pixels} (shift ${shift}): ${luma[i]} ≠ ${expected}`);
        }
      }
    }
  });

  it('refuses bad input with the same codes as decodeGray', async () => {
    expect(await codeOf(decodeFrame(new Uint8Array(0)))).toBe('EMPTY_IMAGE');
    expect(await codeOf(decodeFrame(Buffer.from('definitely not an image')))).toBe('UNSUPPORTED_IMAGE');
    expect(await codeOf(decodeFrame(jpeg.subarray(0, 200)))).toBe('CORRUPT_IMAGE');
    expect(await codeOf(decodeFrame(jpeg, { maxBytes: 1000 }))).toBe('IMAGE_TOO_LARGE');
    expect(await codeOf(decodeFrame(pngHeader(8000, 6000)))).toBe('IMAGE_TOO_MANY_PIXELS');
    expect(await codeOf(decodeFrame(pngHeader(100, 100)))).toBe('CORRUPT_IMAGE');
  });
});
