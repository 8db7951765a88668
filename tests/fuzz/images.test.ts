import { readFileSync, readdirSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { VerificationError, decodeFrame, decodeGray } from '@fv/core';
import { ERROR_CODES, type ErrorCode } from '@fv/protocol';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multipart } from '../support/live-client.ts';
import { lfwDir, lfwFile } from '../support/shared-data.ts';
import {
  Tally,
  brief,
  expectCoded,
  expectStillServing,
  fuzzRun,
  startFuzzServer,
  video,
  type FuzzServer,
} from './support/fuzz-server.ts';

/**
 * Image fuzzing: random bytes, truncated and mutated real JPEG/PNG/WebP files, and crafted headers
 * with huge dimensions, through `decodeGray` and `decodeFrame` (every outcome a decoded image or a coded
 * VerificationError, none slow), then a sample through `POST /v1/verify`.
 */

const RUNS = 10_000;
const HTTP_RUNS = 300;
/**
 * A case that takes longer than this many times the reference (a legitimate 36 MP decode, the
 * most work an accepted upload asks for, timed in the same run) is a hang. Times are ratios, not
 * absolute, because the machine is noisy: a suspect is timed again next to a fresh reference.
 */
const HANG_RATIO = 4;
/** A refusal from the header must cost less than this share of the reference decode. */
const REFUSAL_RATIO = 1 / 20;

type Format = 'jpeg' | 'png' | 'webp';
interface Base {
  name: string;
  format: Format;
  bytes: Buffer;
}

/** Real files from the shared data, and PNG/WebP/progressive/EXIF variants made from them. */
async function baseImages(): Promise<Base[]> {
  const people = readdirSync(lfwDir()).sort().slice(0, 3);
  const jpegs: Base[] = [
    ...people.map((p) => ({ name: `lfw ${p}`, format: 'jpeg' as const, bytes: readFileSync(lfwFile(p, 1)) })),
    ...['person-a_reference.jpg', 'person-b_reference.jpg', 'person-a_still.jpg'].map((f) => ({
      name: f,
      format: 'jpeg' as const,
      bytes: readFileSync(video(f)),
    })),
  ];
  const src = sharp(jpegs[0]!.bytes).resize(120, 120);
  const made: [string, Format, Promise<Buffer>][] = [
    ['png rgb', 'png', src.clone().png().toBuffer()],
    ['png gray 16-bit', 'png', src.clone().grayscale().toColourspace('grey16').png().toBuffer()],
    ['png palette', 'png', src.clone().png({ palette: true, colours: 16 }).toBuffer()],
    ['png rgba interlaced', 'png', src.clone().ensureAlpha(0.5).png({ progressive: true }).toBuffer()],
    ['webp lossy', 'webp', src.clone().webp({ quality: 70 }).toBuffer()],
    ['webp lossless', 'webp', src.clone().webp({ lossless: true }).toBuffer()],
    ['webp alpha (VP8X)', 'webp', src.clone().ensureAlpha(0.5).webp({ quality: 70 }).toBuffer()],
    ['jpeg progressive', 'jpeg', src.clone().jpeg({ progressive: true }).toBuffer()],
    ['jpeg gray', 'jpeg', src.clone().grayscale().jpeg().toBuffer()],
    ['jpeg exif rotated', 'jpeg', src.clone().withMetadata({ orientation: 6 }).jpeg().toBuffer()],
    [
      'png 1x1',
      'png',
      sharp({ create: { width: 1, height: 1, channels: 3, background: '#808080' } })
        .png()
        .toBuffer(),
    ],
  ];
  return [
    ...jpegs,
    ...(await Promise.all(made.map(async ([name, format, b]) => ({ name, format, bytes: await b })))),
  ];
}

/** The offset of a JPEG's SOF segment (width/height at +7/+5), walking the segments as decoders do. */
function jpegSof(bytes: Uint8Array): number | null {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1]!;
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return i;
    i += 2 + ((bytes[i + 2]! << 8) | bytes[i + 3]!);
  }
  return null;
}

/**
 * A copy of `base` whose header claims `width` × `height` (each clipped to what its field holds).
 * PNG's IHDR CRC is recomputed unless `keepCrc`, so the decoder gets past the checksum.
 */
function withDimensions(base: Base, width: number, height: number, keepCrc = false): Buffer {
  const out = Buffer.from(base.bytes);
  if (base.format === 'png') {
    out.writeUInt32BE(width >>> 0, 16);
    out.writeUInt32BE(height >>> 0, 20);
    if (!keepCrc) out.writeUInt32BE(crc32(out.subarray(12, 29)), 29);
  } else if (base.format === 'jpeg') {
    const sof = jpegSof(out);
    if (sof !== null) {
      out.writeUInt16BE(Math.min(height, 0xffff), sof + 5);
      out.writeUInt16BE(Math.min(width, 0xffff), sof + 7);
    }
  } else {
    const chunk = out.toString('latin1', 12, 16);
    const w = Math.max(0, Math.min(width, 1 << 24) - 1);
    const h = Math.max(0, Math.min(height, 1 << 24) - 1);
    if (chunk === 'VP8X') {
      out.writeUIntLE(w, 24, 3);
      out.writeUIntLE(h, 27, 3);
    } else if (chunk === 'VP8 ') {
      out.writeUInt16LE(Math.min(width, 0x3fff), 26);
      out.writeUInt16LE(Math.min(height, 0x3fff), 28);
    } else if (chunk === 'VP8L') {
      const bits = out.readUInt32LE(21);
      const packed = ((bits & 0xf0000000) | (Math.min(w, 0x3fff) | (Math.min(h, 0x3fff) << 14))) >>> 0;
      out.writeUInt32LE(packed, 21);
    }
  }
  return out;
}

type Edit = (bytes: Buffer) => Buffer;
/** A position, biased towards the headers (first 512 bytes) where decoders make their decisions. */
const position = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 511 }).map((i) => (len: number) => (len ? i % len : 0)) },
  { weight: 2, arbitrary: fc.nat().map((i) => (len: number) => (len ? i % len : 0)) },
);
const byteEdit: fc.Arbitrary<Edit> = fc.oneof(
  fc.tuple(position, fc.integer({ min: 0, max: 7 })).map(([p, bit]) => (b: Buffer) => {
    const out = Buffer.from(b);
    if (out.length) out[p(out.length)]! ^= 1 << bit;
    return out;
  }),
  fc
    .tuple(position, fc.constantFrom(0x00, 0xff, 0x7f, 0x80, 0xd8, 0xd9, 0xda, 0xc0, 0x01))
    .map(([p, v]) => (b: Buffer) => {
      const out = Buffer.from(b);
      if (out.length) out[p(out.length)] = v;
      return out;
    }),
  fc.tuple(position, fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([p, ins]) => (b: Buffer) => {
    const at = p(b.length + 1);
    return Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
  }),
  fc.tuple(position, fc.integer({ min: 1, max: 256 })).map(([p, n]) => (b: Buffer) => {
    const at = p(b.length);
    return Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
  }),
  fc.tuple(position, fc.integer({ min: 1, max: 512 })).map(([p, n]) => (b: Buffer) => {
    const at = p(b.length);
    return Buffer.concat([b.subarray(0, at + n), b.subarray(at)]);
  }),
  fc.tuple(position, fc.integer({ min: 1, max: 128 })).map(([p, n]) => (b: Buffer) => {
    const out = Buffer.from(b);
    const at = p(out.length);
    out.fill(0, at, Math.min(at + n, out.length));
    return out;
  }),
);
const MAGIC: Buffer[] = [
  Buffer.from([0xff, 0xd8, 0xff]),
  Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08]),
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'),
  Buffer.from('RIFF\0\0\0\0WEBPVP8 ', 'latin1'),
  Buffer.from('RIFF\0\0\0\0WEBPVP8L', 'latin1'),
  Buffer.from('RIFF\0\0\0\0WEBPVP8X', 'latin1'),
  Buffer.from('GIF89a', 'latin1'),
  Buffer.from('II*\0', 'latin1'),
];
const DIMENSION = fc.oneof(
  fc.constantFrom(
    0,
    1,
    2,
    255,
    4096,
    16383,
    16384,
    65535,
    65536,
    (1 << 24) - 1,
    1 << 24,
    2 ** 31 - 1,
    2 ** 32 - 1,
  ),
  // Within the pixel limit too: the body no longer matches the header (kept under 16 MP for CI time).
  fc.integer({ min: 1, max: 4000 }),
);

interface Case {
  kind: string;
  bytes: Buffer;
}

function imageCase(bases: Base[]): fc.Arbitrary<Case> {
  const base = fc.constantFrom(...bases);
  return fc.oneof(
    {
      weight: 10,
      arbitrary: fc
        .uint8Array({ maxLength: 2048 })
        .map((b) => ({ kind: 'random bytes', bytes: Buffer.from(b) })),
    },
    {
      weight: 10,
      arbitrary: fc
        .tuple(fc.constantFrom(...MAGIC), fc.uint8Array({ maxLength: 2048 }))
        .map(([m, b]) => ({ kind: 'magic + random bytes', bytes: Buffer.concat([m, b]) })),
    },
    {
      weight: 20,
      arbitrary: fc.tuple(base, fc.nat()).map(([b, cut]) => ({
        kind: `truncated ${b.format}`,
        bytes: b.bytes.subarray(0, cut % (b.bytes.length + 1)),
      })),
    },
    {
      weight: 40,
      arbitrary: fc.tuple(base, fc.array(byteEdit, { minLength: 1, maxLength: 8 })).map(([b, edits]) => ({
        kind: `mutated ${b.format}`,
        bytes: edits.reduce((acc, e) => e(acc), b.bytes),
      })),
    },
    {
      weight: 20,
      arbitrary: fc
        .tuple(base, DIMENSION, DIMENSION, fc.boolean(), fc.option(byteEdit, { freq: 3 }))
        .map(([b, w, h, keepCrc, edit]) => {
          const crafted = withDimensions(b, w, h, keepCrc);
          return { kind: `crafted ${b.format} dimensions`, bytes: edit ? edit(crafted) : crafted };
        }),
    },
  );
}

/**
 * Decodes one case with `decode` (uploads' decodeGray by default; live frames' decodeFrame): the
 * outcome's label ('decoded' or the code); anything uncoded fails.
 */
async function decodeOutcome(
  bytes: Buffer,
  decode: typeof decodeGray = decodeGray,
): Promise<{ outcome: 'decoded' | ErrorCode; ms: number }> {
  const started = performance.now();
  try {
    const image = await decode(bytes);
    expect(image.data.length).toBe(image.width * image.height);
    return { outcome: 'decoded', ms: performance.now() - started };
  } catch (error) {
    if (!(error instanceof VerificationError))
      throw new Error(`uncoded failure: ${String(error)}`, { cause: error });
    expectCoded(error.code, decode.name);
    return { outcome: error.code, ms: performance.now() - started };
  }
}

/** A few kilobytes that decode to 36 megapixels (under the 40 MP default): the reference decode. */
function bombPng(): Promise<Buffer> {
  return sharp({ create: { width: 6000, height: 6000, channels: 3, background: '#000000' } })
    .png()
    .toBuffer();
}

/** Median milliseconds of `runs` decodes of `bytes`. */
async function medianDecodeMs(bytes: Buffer, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push((await decodeOutcome(bytes)).ms);
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

describe('image fuzzing (fixed seeds)', () => {
  let bases: Base[];
  let server: FuzzServer;
  let bomb: Buffer;
  beforeAll(async () => {
    bases = await baseImages();
    bomb = await bombPng();
    server = await startFuzzServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refuses crafted huge dimensions from the header, at a small share of a 36 MP decode', async () => {
    // A few kilobytes that decode to 36 megapixels: allowed, and the yardstick for the refusals.
    expect((await decodeOutcome(bomb)).outcome).toBe('decoded');
    const reference = await medianDecodeMs(bomb, 3);
    const jpeg = bases.find((b) => b.format === 'jpeg')!;
    const png = bases.find((b) => b.name === 'png rgb')!;
    const interlaced = bases.find((b) => b.name === 'png rgba interlaced')!;
    const vp8x = bases.find((b) => b.name === 'webp alpha (VP8X)')!;
    const refusals: number[] = [];
    for (const bytes of [
      withDimensions(jpeg, 65535, 65535),
      withDimensions(png, 2 ** 31 - 1, 2 ** 31 - 1),
      withDimensions(png, 2 ** 32 - 1, 1),
      withDimensions(vp8x, 1 << 24, 1 << 24),
      // Under 40 MP but 16.7 million pixels wide: decoders take seconds over rows this long.
      withDimensions(interlaced, (1 << 24) - 1, 2),
      withDimensions(jpeg, 65535, 610),
    ]) {
      expect((await decodeOutcome(bytes)).outcome).toBe('IMAGE_TOO_MANY_PIXELS');
      // Medians: one refusal can land on a garbage collection of the decodes before it.
      refusals.push(await medianDecodeMs(bytes, 5));
    }
    const slowest = Math.max(...refusals);
    console.log(
      `36 MP PNG bomb: ${bomb.length} bytes, decoded in ${reference.toFixed(0)} ms (median of 3); ` +
        `slowest header refusal ${slowest.toFixed(2)} ms (median of 5)`,
    );
    expect(slowest).toBeLessThan(reference * REFUSAL_RATIO);
    // Zero-sized images are corrupt, not empty.
    expect((await decodeOutcome(withDimensions(png, 0, 100))).outcome).toBe('CORRUPT_IMAGE');
  }, 60_000);

  it(`decodes or refuses ${RUNS} fuzzed uploads with a coded error, none slower than ${HANG_RATIO}× a 36 MP decode`, async () => {
    const outcomes = new Tally();
    const frameOutcomes = new Tally();
    const kinds = new Tally();
    let reference = await medianDecodeMs(bomb, 3);
    let slowest = { ratio: 0, ms: 0, kind: '' };
    let retimed = 0;
    await fc.assert(
      fc.asyncProperty(imageCase(bases), async ({ kind, bytes }) => {
        kinds.add(kind);
        const { outcome, ms } = await decodeOutcome(bytes);
        outcomes.add(outcome);
        let ratio = ms / reference;
        if (ratio > HANG_RATIO) {
          // A suspect: the machine may just have been busy. Time it again beside a fresh reference.
          retimed++;
          reference = await medianDecodeMs(bomb, 3);
          ratio = (await medianDecodeMs(bytes, 3)) / reference;
        }
        if (ratio > slowest.ratio) slowest = { ratio, ms, kind };
        expect(ratio, `a hang: ${kind} ${brief(bytes)}`).toBeLessThan(HANG_RATIO);
        // The same bytes as a live frame (decodeFrame, same checks, another decoder call).
        const frame = await decodeOutcome(bytes, decodeFrame);
        frameOutcomes.add(frame.outcome);
        if (frame.ms / reference > HANG_RATIO) {
          retimed++;
          reference = await medianDecodeMs(bomb, 3);
          const times: number[] = [];
          for (let i = 0; i < 3; i++) times.push((await decodeOutcome(bytes, decodeFrame)).ms);
          const again = times.sort((a, b) => a - b)[1]! / reference;
          expect(again, `a hang as a frame: ${kind} ${brief(bytes)}`).toBeLessThan(HANG_RATIO);
        }
      }),
      fuzzRun(0x5eed_0004, RUNS),
    );
    kinds.print('Image fuzz: cases by generator');
    outcomes.print(
      `Image fuzz: decodeGray outcomes (slowest ${slowest.ratio.toFixed(2)}× a 36 MP decode of ` +
        `${reference.toFixed(0)} ms, ${slowest.ms.toFixed(0)} ms, ${slowest.kind}; ${retimed} retimed)`,
    );
    frameOutcomes.print('Image fuzz: decodeFrame outcomes (the same cases as live frames)');
    expect(kinds.total).toBeGreaterThanOrEqual(RUNS);
    expect(frameOutcomes.total).toBe(outcomes.total);
  }, 300_000);

  it(`answers ${HTTP_RUNS} fuzzed uploads to POST /v1/verify with 200 or a coded error`, async () => {
    // The other field: a small real face (LFW, 250×250), so valid pairs are cheap to score.
    const face = readFileSync(lfwFile(readdirSync(lfwDir()).sort()[0]!, 1));
    const outcomes = new Tally();
    let slowest = { ms: 0, kind: '' };
    await fc.assert(
      fc.asyncProperty(imageCase(bases), fc.boolean(), async ({ kind, bytes }, first) => {
        const files: [string, Buffer][] = first
          ? [
              ['a', bytes],
              ['b', face],
            ]
          : [
              ['a', face],
              ['b', bytes],
            ];
        const started = performance.now();
        const res = await server.app.inject({ method: 'POST', url: '/v1/verify', ...multipart(files) });
        const ms = performance.now() - started;
        if (ms > slowest.ms) slowest = { ms, kind: `${kind} → ${res.statusCode}` };
        if (res.statusCode === 200) {
          expect(res.json()).toHaveProperty('distance');
          outcomes.add('200');
          return;
        }
        const { error } = res.json() as { error: { code: ErrorCode; message: string } };
        expectCoded(error.code, 'POST /v1/verify');
        expect(typeof error.message).toBe('string');
        expect(res.statusCode).toBe(ERROR_CODES[error.code].http);
        outcomes.add(`${res.statusCode} ${error.code}`);
      }),
      fuzzRun(0x5eed_0005, HTTP_RUNS),
    );
    outcomes.print(
      `Image fuzz: POST /v1/verify responses (slowest ${slowest.ms.toFixed(0)} ms, ${slowest.kind})`,
    );
    expect(outcomes.total).toBeGreaterThanOrEqual(HTTP_RUNS);
    await expectStillServing(server);
  }, 300_000);
});
