import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { lfwFile } from '../../../../tests/support/shared-data.ts';
import { VerificationError } from '../errors.ts';
import { decodeFrame } from './decode.ts';
import { decodeJpegLuma } from './jpeg-luma.ts';

const photo = readFileSync(lfwFile('Aaron_Peirsol', 1));
/** What decodeFrame allows in its thread. */
const VGA = 640 * 480;

/** Channel 0 of libjpeg's decode through sharp (a gray JPEG comes out as three equal channels). */
async function libjpegChannel0(jpeg: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await sharp(jpeg).extractChannel(0).raw().toBuffer());
}

function countDifferences(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/**
 * A JPEG of flat 8×8 blocks, written by hand so the test controls what sharp's encoder never
 * writes: restart intervals, one scan per component, in any order. `dc[c][block]` is component c's
 * DC level (its blocks in raster order across the component's own block grid).
 */
function flatBlocksJpeg(opts: {
  width: number;
  height: number;
  sampling: [number, number][];
  dc: number[][];
  restartInterval?: number;
  scans: number[][];
}): Buffer {
  const out: number[] = [0xff, 0xd8];
  const segment = (marker: number, body: number[]): void => {
    out.push(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body);
  };
  segment(0xdb, [0x00, ...new Array<number>(64).fill(1)]); // quantisation: all ones
  const hMax = Math.max(...opts.sampling.map((s) => s[0]));
  const vMax = Math.max(...opts.sampling.map((s) => s[1]));
  segment(0xc0, [
    8,
    opts.height >> 8,
    opts.height & 255,
    opts.width >> 8,
    opts.width & 255,
    opts.sampling.length,
    ...opts.sampling.flatMap(([h, v], c) => [c + 1, (h << 4) | v, 0]),
  ]);
  // DC: categories 0–11, each a 4-bit code equal to the category. AC: one code, "0", end of block.
  segment(0xc4, [
    0x00,
    0,
    0,
    0,
    12,
    ...new Array<number>(12).fill(0),
    ...Array.from({ length: 12 }, (_, i) => i),
  ]);
  segment(0xc4, [0x10, 1, ...new Array<number>(15).fill(0), 0x00]);
  if (opts.restartInterval) segment(0xdd, [opts.restartInterval >> 8, opts.restartInterval & 255]);
  const blocksWide = (c: number): number =>
    Math.ceil(Math.ceil((opts.width * opts.sampling[c]![0]) / hMax) / 8);
  const blocksHigh = (c: number): number =>
    Math.ceil(Math.ceil((opts.height * opts.sampling[c]![1]) / vMax) / 8);
  for (const members of opts.scans) {
    segment(0xda, [members.length, ...members.flatMap((c) => [c + 1, 0x00]), 0, 63, 0]);
    let bits = 0;
    let count = 0;
    const put = (value: number, length: number): void => {
      for (let i = length - 1; i >= 0; i--) {
        bits = (bits << 1) | ((value >> i) & 1);
        if (++count === 8) {
          out.push(bits);
          if (bits === 0xff) out.push(0);
          bits = 0;
          count = 0;
        }
      }
    };
    const flush = (): void => {
      if (count > 0) put(0xff, 8 - count);
    };
    const predictions = members.map(() => 0);
    const block = (m: number, bx: number, by: number): void => {
      const c = members[m]!;
      const value = opts.dc[c]![by * blocksWide(c) + bx] ?? 0;
      const diff = value - predictions[m]!;
      predictions[m] = value;
      const size = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
      put(size, 4);
      if (size > 0) put(diff > 0 ? diff : diff + (1 << size) - 1, size);
      put(0, 1); // end of block
    };
    const interleaved = members.length > 1;
    const mcusWide = interleaved ? Math.ceil(opts.width / (8 * hMax)) : blocksWide(members[0]!);
    const mcusHigh = interleaved ? Math.ceil(opts.height / (8 * vMax)) : blocksHigh(members[0]!);
    let restarts = 0;
    for (let mcu = 0; mcu < mcusWide * mcusHigh; mcu++) {
      if (opts.restartInterval && mcu > 0 && mcu % opts.restartInterval === 0) {
        flush();
        out.push(0xff, 0xd0 + (restarts++ % 8));
        predictions.fill(0);
      }
      const mx = mcu % mcusWide;
      const my = Math.floor(mcu / mcusWide);
      members.forEach((c, m) => {
        const [h, v] = interleaved ? opts.sampling[c]! : [1, 1];
        for (let y = 0; y < v; y++) for (let x = 0; x < h; x++) block(m, mx * h + x, my * v + y);
      });
    }
    flush();
  }
  out.push(0xff, 0xd9);
  return Buffer.from(out);
}

/** Flat-block levels for component c: a ramp, so neighbouring blocks and intervals differ. */
function ramp(blocks: number, seed: number): number[] {
  return Array.from({ length: blocks }, (_, i) => (((i * 37 + seed * 11) % 200) - 100) * 8);
}

describe('decodeJpegLuma', () => {
  it('decodes a grayscale JPEG to the same bytes as libjpeg, at any size and quality', async () => {
    for (const [width, height] of [
      [250, 250],
      [320, 240],
      [640, 480],
      [97, 61],
      [8, 8],
      [1, 1],
    ]) {
      for (const quality of [20, 75, 100]) {
        const jpeg = await sharp(photo)
          .resize(width, height, { fit: 'fill' })
          .toColourspace('b-w')
          .jpeg({ quality })
          .toBuffer();
        const luma = decodeJpegLuma(jpeg, VGA);
        expect(luma, `${width}×${height} q${quality}`).not.toBeNull();
        expect([luma!.width, luma!.height]).toEqual([width, height]);
        expect(
          countDifferences(luma!.data, await libjpegChannel0(jpeg)),
          `${width}×${height} q${quality}`,
        ).toBe(0);
      }
    }
  });

  it('takes the Y of a colour JPEG exactly, skipping its chroma (4:2:0 and 4:4:4)', async () => {
    // A gray picture coded as YCbCr: its chroma is neutral, so libjpeg's R = G = B = Y.
    const { data, info } = await sharp(photo).greyscale().raw().toBuffer({ resolveWithObject: true });
    const rgb = Buffer.alloc(data.length * 3);
    for (let i = 0; i < data.length; i++) rgb.fill(data[i]!, 3 * i, 3 * i + 3);
    for (const chromaSubsampling of ['4:2:0', '4:4:4']) {
      for (const [width, height] of [
        [250, 250],
        [97, 61],
      ]) {
        const jpeg = await sharp(rgb, { raw: { width: info.width, height: info.height, channels: 3 } })
          .resize(width, height, { fit: 'fill' })
          .jpeg({ quality: 85, chromaSubsampling })
          .toBuffer();
        expect((await sharp(jpeg).metadata()).channels).toBe(3);
        const luma = decodeJpegLuma(jpeg, VGA)!;
        expect(countDifferences(luma.data, await libjpegChannel0(jpeg)), chromaSubsampling).toBe(0);
      }
    }
  });

  it('gives a colour photo the same luma as decoding it to RGB would, but for clipped colours', async () => {
    for (const chromaSubsampling of ['4:2:0', '4:4:4']) {
      const jpeg = await sharp(photo)
        .resize(320, 240, { fit: 'fill' })
        .jpeg({ quality: 80, chromaSubsampling })
        .toBuffer();
      const { data: rgb } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
      const luma = decodeJpegLuma(jpeg, VGA)!;
      let worst = 0;
      for (let i = 0; i < luma.data.length; i++) {
        const y = 0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!;
        worst = Math.max(worst, Math.abs(luma.data[i]! - y));
      }
      expect(worst, chromaSubsampling).toBeLessThanOrEqual(1.5);
    }
  });

  it('follows restart intervals and one scan per component in any order, as libjpeg does', async () => {
    const width = 40;
    const height = 27;
    const layouts: { sampling: [number, number][]; scans: number[][]; restartInterval?: number }[] = [
      { sampling: [[1, 1]], scans: [[0]], restartInterval: 3 },
      {
        sampling: [
          [2, 2],
          [1, 1],
          [1, 1],
        ],
        scans: [[0, 1, 2]],
        restartInterval: 2,
      },
      {
        sampling: [
          [2, 1],
          [1, 1],
          [1, 1],
        ],
        scans: [[0, 1, 2]],
      },
      {
        sampling: [
          [2, 2],
          [1, 1],
          [1, 1],
        ],
        scans: [[1], [0], [2]],
        restartInterval: 5,
      },
    ];
    for (const layout of layouts) {
      const hMax = Math.max(...layout.sampling.map((s) => s[0]));
      const vMax = Math.max(...layout.sampling.map((s) => s[1]));
      const dc = layout.sampling.map(([h, v], c) =>
        // Chroma at 0 keeps libjpeg's RGB equal to Y, so its channel 0 is the reference.
        c === 0 ? ramp(Math.ceil((width * h) / hMax / 8) * Math.ceil((height * v) / vMax / 8), 1) : [],
      );
      const jpeg = flatBlocksJpeg({ width, height, dc, ...layout });
      const luma = decodeJpegLuma(jpeg, VGA);
      expect(luma, JSON.stringify(layout)).not.toBeNull();
      expect(countDifferences(luma!.data, await libjpegChannel0(jpeg)), JSON.stringify(layout)).toBe(0);
    }
  });

  it('leaves progressive, CMYK, EXIF-oriented and large files to the full decoder, which decodeFrame then uses', async () => {
    const progressive = await sharp(photo).jpeg({ progressive: true }).toBuffer();
    const cmyk = await sharp(photo).toColourspace('cmyk').jpeg().toBuffer();
    const turned = await sharp(photo)
      .resize(60, 40, { fit: 'fill' })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect(decodeJpegLuma(progressive, VGA)).toBeNull();
    expect(decodeJpegLuma(cmyk, VGA)).toBeNull();
    expect(decodeJpegLuma(turned, VGA)).toBeNull();
    const big = await sharp(photo).resize(800, 600).jpeg().toBuffer();
    expect(decodeJpegLuma(big, VGA)).toBeNull();
    expect(decodeJpegLuma(big, 800 * 600)?.width).toBe(800);
    expect((await decodeFrame(big)).width).toBe(800);
    const frame = await decodeFrame(turned);
    expect([frame.width, frame.height]).toEqual([40, 60]); // turned upright by the full decoder
    expect((await decodeFrame(progressive)).width).toBe(250);
  });

  it('refuses broken data with CORRUPT_IMAGE: truncated scans, missing restart markers, undefined tables', () => {
    const codeOf = (bytes: Uint8Array): string => {
      try {
        decodeJpegLuma(bytes, VGA);
      } catch (error) {
        expect(error).toBeInstanceOf(VerificationError);
        return (error as VerificationError).code;
      }
      return 'decoded';
    };
    const layout = { width: 40, height: 27, sampling: [[1, 1]] as [number, number][], scans: [[0]] };
    const good = flatBlocksJpeg({ ...layout, dc: [ramp(20, 2)], restartInterval: 4 });
    expect(codeOf(good)).toBe('decoded');
    // Cut inside the scan, but keep an end-of-image marker: the data ends before the picture does.
    expect(codeOf(Buffer.concat([good.subarray(0, good.length - 12), Buffer.from([0xff, 0xd9])]))).toBe(
      'CORRUPT_IMAGE',
    );
    expect(codeOf(photo.subarray(0, photo.length - 400))).toBe('CORRUPT_IMAGE');
    // An RSTn turned into stuffed data: the restart marker is missing.
    const rst = good.indexOf(Buffer.from([0xff, 0xd0]));
    const noRestart = Buffer.from(good);
    noRestart[rst + 1] = 0x00;
    expect(codeOf(noRestart)).toBe('CORRUPT_IMAGE');
    // A scan that names a Huffman table no segment defined.
    const sos = good.indexOf(Buffer.from([0xff, 0xda]));
    const noTable = Buffer.from(good);
    noTable[sos + 6] = 0x33;
    expect(codeOf(noTable)).toBe('CORRUPT_IMAGE');
    expect(codeOf(Buffer.from([0xff, 0xd8, 0xff, 0xd9]))).toBe('CORRUPT_IMAGE');
  });

  it('never throws anything but a coded error, never hangs, on mangled frames', async () => {
    const frame = await sharp(photo).resize(80, 60).jpeg({ quality: 70 }).toBuffer();
    const gray = await sharp(photo).resize(80, 60).toColourspace('b-w').jpeg({ quality: 70 }).toBuffer();
    fc.assert(
      fc.property(
        fc.constantFrom(frame, gray),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(), { nil: undefined }),
        (source, edits, cut) => {
          const bytes = Buffer.from(source);
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          const input = cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length);
          try {
            const luma = decodeJpegLuma(input, VGA);
            if (luma !== null) expect(luma.data.length).toBe(luma.width * luma.height);
          } catch (error) {
            expect(error).toBeInstanceOf(VerificationError);
            expect((error as VerificationError).code).toBe('CORRUPT_IMAGE');
          }
        },
      ),
      { numRuns: 2000, seed: 34 },
    );
  });
});
