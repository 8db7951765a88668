import { VerificationError } from '../errors.ts';
import type { GrayImage } from './gray-image.ts';
import { WasmKernel } from '../wasm/wasm-kernel.ts';
import { JPEG_SCAN_WASM } from './jpeg-scan.wasm.ts';

/**
 * The luma plane of a baseline JPEG, decoded in the calling thread: the Y that the file stores, with
 * no chroma decoded beyond what its bits need, no colour conversion and no hand-off to another
 * thread: the headers are read here, the entropy-coded scan is decoded by a WebAssembly kernel
 * (jpeg-scan.wat). A live frame from a browser's canvas is such a file (baseline, Huffman, 8-bit,
 * YCbCr or grayscale). The inverse DCT is libjpeg's "islow" (Loeffler, Ligtenberg and Moschytz, 13-bit
 * constants), the one libvips asks libjpeg for, so a grayscale JPEG decodes to the same bytes here
 * as through sharp (tested).
 *
 * Returns `null` for a file it leaves to a full decoder: progressive, arithmetic-coded, lossless or
 * 12-bit, CMYK or RGB-coded, with an EXIF block (orientation), or with luma subsampled below another
 * component, or one of more than `maxPixels` pixels. Throws {@link VerificationError}
 * (`CORRUPT_IMAGE`) for a file that breaks the format: missing or inconsistent tables, a code no
 * table has, data that ends before the picture does.
 */
export function decodeJpegLuma(bytes: Uint8Array, maxPixels: number): GrayImage | null {
  return new JpegLumaDecoder(bytes, maxPixels).decode();
}

/**
 * The scan decoder (jpeg-scan.wat, built into jpeg-scan.wasm.ts: Huffman decoding, dequantisation
 * and libjpeg's "islow" inverse DCT), one instance per thread. Its memory holds, for one call, a
 * block's coefficients, the inverse DCT's workspace, the zigzag order, the MCU's block list, the
 * quantisation and Huffman tables, the scan's bytes and the plane being decoded (at most
 * `maxPixels`, rounded up to whole blocks).
 */
const scanKernel = new WasmKernel<{
  /** Decodes the scan; 0, or the code of what was wrong with its data (SCAN_ERRORS). */
  scan(
    coef: number,
    ws: number,
    zigzag: number,
    desc: number,
    blocks: number,
    data: number,
    length: number,
    mcusWide: number,
    total: number,
    interval: number,
    plane: number,
    stride: number,
    mcuWidth: number,
    mcuHeight: number,
  ): number;
}>(JPEG_SCAN_WASM);

/** What a non-zero return of the kernel's `scan` means. */
const SCAN_ERRORS: Record<number, string> = {
  1: 'a code that no Huffman table has',
  2: 'a coefficient of more than 16 bits',
  3: 'a coefficient past the end of its block',
  4: 'the data ends inside the scan',
  5: 'the data ends inside a restart interval',
  6: 'a restart marker is missing',
};

const corrupt = (detail: string): VerificationError =>
  VerificationError.corruptImage(new Error(`JPEG: ${detail}`));

/** Zigzag position k → row-major index in the 8×8 block. */
const NATURAL_ORDER = new Int32Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46,
  53, 60, 61, 54, 47, 55, 62, 63,
]);

/** Codes up to this long are found with one table look-up; longer ones walk the canonical code. */
const LOOKUP_BITS = 9;
/**
 * One Huffman table in the kernel's memory, as jpeg-scan.wat's `$symbol` reads it: the look-up
 * (u16 per LOOKUP_BITS-bit prefix) at 0, then these byte offsets.
 */
const MAX_CODE_AT = 1024;
const VALUE_OFFSET_AT = 1096;
const VALUE_COUNT_AT = 1164;
const VALUES_AT = 1168;
const TABLE_BYTES = VALUES_AT + 256;

/**
 * A Huffman table in canonical form (ITU T.81, Annex C) with a look-up for short codes, laid out
 * as the scan kernel reads it.
 */
class HuffmanTable {
  readonly bytes = new Uint8Array(TABLE_BYTES);

  constructor(counts: Uint8Array, values: Uint8Array) {
    const buffer = this.bytes.buffer;
    /** (length << 8) | symbol for every LOOKUP_BITS-bit prefix that starts with a short code; 0 otherwise. */
    const lookup = new Uint16Array(buffer, 0, 1 << LOOKUP_BITS);
    /** Largest code of each length (−1 for none), and the offset from a code to its symbol's index. */
    const maxCode = new Int32Array(buffer, MAX_CODE_AT, 18).fill(-1);
    const valueOffset = new Int32Array(buffer, VALUE_OFFSET_AT, 17);
    new Int32Array(buffer, VALUE_COUNT_AT, 1)[0] = values.length;
    this.bytes.set(values, VALUES_AT);
    let code = 0;
    let index = 0;
    for (let length = 1; length <= 16; length++) {
      const count = counts[length - 1]!;
      valueOffset[length] = index - code;
      for (let i = 0; i < count; i++, index++, code++) {
        if (code >= 1 << length) throw corrupt('a Huffman table has more codes than its lengths allow');
        if (length <= LOOKUP_BITS) {
          const shift = LOOKUP_BITS - length;
          lookup.fill((length << 8) | values[index]!, code << shift, (code + 1) << shift);
        }
      }
      if (count > 0) maxCode[length] = code - 1;
      code <<= 1;
    }
    maxCode[17] = 0x7fffffff; // a sentinel: a code longer than 16 bits is corrupt
  }
}

interface Component {
  readonly id: number;
  readonly h: number;
  readonly v: number;
  readonly quantTable: number;
}

interface Frame {
  readonly width: number;
  readonly height: number;
  readonly components: Component[];
  readonly hMax: number;
  readonly vMax: number;
  readonly mcusWide: number;
  readonly mcusHigh: number;
}

class JpegLumaDecoder {
  readonly #bytes: Uint8Array;
  #pos = 0;
  readonly #quant: (Int32Array | undefined)[] = [];
  readonly #dcTables: (HuffmanTable | undefined)[] = [];
  readonly #acTables: (HuffmanTable | undefined)[] = [];
  #restartInterval = 0;
  #frame: Frame | null = null;
  #adobeTransform = -1;

  readonly #maxPixels: number;

  constructor(bytes: Uint8Array, maxPixels: number) {
    this.#bytes = bytes;
    this.#maxPixels = maxPixels;
  }

  decode(): GrayImage | null {
    const b = this.#bytes;
    if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) throw corrupt('no start-of-image marker');
    this.#pos = 2;
    for (;;) {
      const marker = this.#nextMarker();
      if (marker === 0xd9) throw corrupt('the image ends before its luma was coded');
      if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // no segment
      if (marker === 0xd8) throw corrupt('a second start-of-image marker');
      const length = this.#u16(this.#pos);
      const start = this.#pos + 2;
      const end = this.#pos + length;
      if (length < 2 || end > b.length) throw corrupt('a segment runs past the end of the data');
      this.#pos = end;
      switch (marker) {
        case 0xc0: // baseline
        case 0xc1: // extended sequential, Huffman
          if (!this.#readFrame(start, end)) return null;
          break;
        case 0xc4:
          this.#readHuffmanTables(start, end);
          break;
        case 0xdb:
          this.#readQuantTables(start, end);
          break;
        case 0xdd:
          if (end - start < 2) throw corrupt('a short restart-interval segment');
          this.#restartInterval = this.#u16(start);
          break;
        case 0xda: {
          const image = this.#readScan(start, end);
          if (image) return image;
          break;
        }
        case 0xe1: // APP1: an EXIF block may turn the picture; a full decoder applies it
          if (end - start >= 6 && String.fromCharCode(...b.subarray(start, start + 4)) === 'Exif')
            return null;
          break;
        case 0xee: // APP14, Adobe: its transform flag says whether three components are YCbCr
          if (end - start >= 12 && String.fromCharCode(...b.subarray(start, start + 5)) === 'Adobe') {
            this.#adobeTransform = b[start + 11]!;
          }
          break;
        default:
          // Progressive, lossless, hierarchical or arithmetic-coded frames, DNL, DAC: not ours.
          if ((marker >= 0xc2 && marker <= 0xcf) || marker === 0xdc) return null;
      }
    }
  }

  #u16(at: number): number {
    if (at + 2 > this.#bytes.length) throw corrupt('the data ends inside a segment');
    return (this.#bytes[at]! << 8) | this.#bytes[at + 1]!;
  }

  /** Skips to the next marker (fill bytes and stray data between segments, as libjpeg does). */
  #nextMarker(): number {
    const b = this.#bytes;
    let pos = this.#pos;
    for (;;) {
      while (pos < b.length && b[pos] !== 0xff) pos++;
      while (pos < b.length && b[pos] === 0xff) pos++;
      if (pos >= b.length) throw corrupt('the data ends before the image does');
      const marker = b[pos++]!;
      if (marker !== 0) {
        this.#pos = pos;
        return marker;
      }
    }
  }

  #readFrame(start: number, end: number): boolean {
    const b = this.#bytes;
    if (this.#frame) throw corrupt('a second frame header');
    if (end - start < 6) throw corrupt('a short frame header');
    if (b[start] !== 8) return false; // 12-bit samples
    const height = this.#u16(start + 1);
    const width = this.#u16(start + 3);
    const count = b[start + 5]!;
    if (width === 0) throw corrupt('a frame of width 0');
    if (height === 0) return false; // the height comes later, in a DNL segment
    if (width * height > this.#maxPixels) return false;
    if (end - start < 6 + count * 3) throw corrupt('a short frame header');
    if (count !== 1 && count !== 3) return false; // CMYK, YCCK or rarer
    const components: Component[] = [];
    for (let i = 0; i < count; i++) {
      const at = start + 6 + i * 3;
      const h = b[at + 1]! >> 4;
      const v = b[at + 1]! & 15;
      const quantTable = b[at + 2]!;
      if (h < 1 || h > 4 || v < 1 || v > 4 || quantTable > 3)
        throw corrupt('a bad component in the frame header');
      components.push({ id: b[at]!, h, v, quantTable });
    }
    if (count === 3) {
      // libjpeg's rule for the colour space: Adobe's flag if present, else the component ids.
      if (this.#adobeTransform === 0) return false;
      if (
        this.#adobeTransform < 0 &&
        components[0]!.id === 0x52 &&
        components[1]!.id === 0x47 &&
        components[2]!.id === 0x42
      ) {
        return false; // 'R', 'G', 'B'
      }
    }
    const hMax = Math.max(...components.map((c) => c.h));
    const vMax = Math.max(...components.map((c) => c.v));
    if (components[0]!.h !== hMax || components[0]!.v !== vMax) return false; // luma below full resolution
    const mcusWide = Math.ceil(width / (8 * hMax));
    const mcusHigh = Math.ceil(height / (8 * vMax));
    this.#frame = { width, height, components, hMax, vMax, mcusWide, mcusHigh };
    return true;
  }

  #readQuantTables(start: number, end: number): void {
    const b = this.#bytes;
    let pos = start;
    while (pos < end) {
      const precision = b[pos]! >> 4;
      const id = b[pos]! & 15;
      pos++;
      if (precision > 1 || id > 3) throw corrupt('a bad quantisation table');
      if (pos + 64 * (precision + 1) > end) throw corrupt('a short quantisation table');
      const table = new Int32Array(64); // in zigzag order, as the coefficients arrive
      for (let k = 0; k < 64; k++) {
        table[k] = precision === 0 ? b[pos + k]! : (b[pos + 2 * k]! << 8) | b[pos + 2 * k + 1]!;
      }
      pos += 64 * (precision + 1);
      this.#quant[id] = table;
    }
  }

  #readHuffmanTables(start: number, end: number): void {
    const b = this.#bytes;
    let pos = start;
    while (pos < end) {
      const kind = b[pos]! >> 4;
      const id = b[pos]! & 15;
      if (kind > 1 || id > 3 || pos + 17 > end) throw corrupt('a bad Huffman table');
      const counts = b.subarray(pos + 1, pos + 17);
      let total = 0;
      for (const c of counts) total += c;
      pos += 17;
      if (total > 256 || pos + total > end) throw corrupt('a short Huffman table');
      const table = new HuffmanTable(counts, b.slice(pos, pos + total));
      pos += total;
      (kind === 0 ? this.#dcTables : this.#acTables)[id] = table;
    }
  }

  /** Decodes a scan: the luma plane if the scan holds the luma, else `null` (the scan is skipped). */
  #readScan(start: number, end: number): GrayImage | null {
    const b = this.#bytes;
    const frame = this.#frame;
    if (!frame) throw corrupt('a scan before the frame header');
    const count = b[start]!;
    if (count < 1 || count > 4 || end - start < 4 + count * 2) throw corrupt('a bad scan header');
    const members: { component: Component; dc: HuffmanTable; ac: HuffmanTable; quant: Int32Array }[] = [];
    for (let i = 0; i < count; i++) {
      const id = b[start + 1 + i * 2]!;
      const tables = b[start + 2 + i * 2]!;
      const component = frame.components.find((c) => c.id === id);
      const dc = this.#dcTables[tables >> 4];
      const ac = this.#acTables[tables & 15];
      const quant = component && this.#quant[component.quantTable];
      if (!component || !dc || !ac || !quant)
        throw corrupt('a scan names a component or table that is not defined');
      members.push({ component, dc, ac, quant });
    }
    const after = start + 1 + count * 2;
    if (b[after] !== 0 || b[after + 1] !== 63 || b[after + 2] !== 0) {
      throw corrupt('a sequential scan must code coefficients 0–63');
    }
    const luma = frame.components[0]!;
    const lumaIndex = members.findIndex((m) => m.component === luma);
    if (lumaIndex < 0) {
      this.#skipEntropyData();
      return null;
    }
    if (count > 1 && members.reduce((n, m) => n + m.component.h * m.component.v, 0) > 10) {
      throw corrupt('an MCU of more than 10 blocks');
    }

    const planeWidth = frame.mcusWide * 8 * frame.hMax;
    const planeHeight = frame.mcusHigh * 8 * frame.vMax;
    // Interleaved: MCUs of every member's h×v blocks; the luma alone: one block per MCU, over the
    // blocks that carry samples (the luma is at full resolution).
    const interleaved = count > 1;
    const mcusWide = interleaved ? frame.mcusWide : Math.ceil(frame.width / 8);
    const mcusHigh = interleaved ? frame.mcusHigh : Math.ceil(frame.height / 8);
    const tables = [...new Set(members.flatMap((m) => [m.dc, m.ac]))];
    const quants = [...new Set(members.map((m) => m.quant))];
    const blocks = members.flatMap((m) => {
      const h = interleaved ? m.component.h : 1;
      const v = interleaved ? m.component.v : 1;
      return Array.from({ length: h * v }, (_, i) => ({ m, x: (i % h) * 8, y: Math.floor(i / h) * 8 }));
    });
    const data = b.subarray(end);
    const {
      exports: kernel,
      buffer,
      at,
    } = scanKernel.layout([
      64 * 4, // coefficients
      64 * 4, // the inverse DCT's workspace
      NATURAL_ORDER,
      blocks.length * 16,
      tables.length * TABLE_BYTES,
      quants.length * 64 * 4,
      data.length,
      planeWidth * planeHeight,
    ]);
    const [coefAt, workspaceAt, zigzagAt, descAt, tablesAt, quantsAt, dataAt, planeAt] = at;
    tables.forEach((t, i) => new Uint8Array(buffer, tablesAt + i * TABLE_BYTES, TABLE_BYTES).set(t.bytes));
    quants.forEach((q, i) => new Int32Array(buffer, quantsAt + i * 256, 64).set(q));
    const desc = new Int32Array(buffer, descAt, blocks.length * 4);
    blocks.forEach(({ m, x, y }, i) => {
      desc[i * 4] = tablesAt + tables.indexOf(m.dc) * TABLE_BYTES;
      desc[i * 4 + 1] = tablesAt + tables.indexOf(m.ac) * TABLE_BYTES;
      desc[i * 4 + 2] = quantsAt + quants.indexOf(m.quant) * 256;
      desc[i * 4 + 3] = m === members[lumaIndex] ? y * planeWidth + x : -1;
    });
    new Uint8Array(buffer, dataAt, data.length).set(data);
    const lumaH = interleaved ? luma.h : 1;
    const lumaV = interleaved ? luma.v : 1;
    const status = kernel.scan(
      coefAt,
      workspaceAt,
      zigzagAt,
      descAt,
      blocks.length,
      dataAt,
      data.length,
      mcusWide,
      mcusWide * mcusHigh,
      this.#restartInterval,
      planeAt,
      planeWidth,
      lumaH * 8,
      lumaV * 8,
    );
    if (status !== 0) throw corrupt(SCAN_ERRORS[status] ?? `scan error ${status}`);
    const plane = new Uint8Array(buffer, planeAt, planeWidth * planeHeight);
    if (planeWidth === frame.width && planeHeight === frame.height) {
      return { width: frame.width, height: frame.height, data: plane.slice() };
    }
    const image = new Uint8Array(frame.width * frame.height);
    for (let y = 0; y < frame.height; y++) {
      image.set(plane.subarray(y * planeWidth, y * planeWidth + frame.width), y * frame.width);
    }
    return { width: frame.width, height: frame.height, data: image };
  }

  /**
   * Moves over entropy-coded bytes to the next marker (or the end of the data). A scan that holds
   * no luma is skipped this way; its restart markers then need no segment.
   */
  #skipEntropyData(): void {
    const b = this.#bytes;
    for (let pos = this.#pos; pos + 1 < b.length; pos++) {
      if (b[pos] !== 0xff) continue;
      const next = b[pos + 1]!;
      if (next === 0 || next === 0xff) continue;
      this.#pos = pos;
      return;
    }
    this.#pos = b.length;
  }
}
