import { VerificationError } from '../errors.ts';
import type { GrayImage } from './gray-image.ts';
import { WasmKernel } from '../wasm/wasm-kernel.ts';
import { JPEG_IDCT_WASM } from './jpeg-idct.wasm.ts';

/**
 * The luma plane of a baseline JPEG, decoded in the calling thread: the Y that the file stores, with
 * no chroma decoded beyond what its bits need, no colour conversion and no hand-off to another
 * thread. A live frame from a browser's canvas is such a file (baseline, Huffman, 8-bit, YCbCr or
 * grayscale). The inverse DCT is libjpeg's "islow" (Loeffler, Ligtenberg and Moschytz, 13-bit
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
 * The inverse DCT (libjpeg's "islow": jpeg-idct.wat, built into jpeg-idct.wasm.ts), one instance
 * per thread. Its memory holds a block's coefficients and the transform's workspace, then the
 * plane being decoded (at most `maxPixels`, rounded up to whole blocks).
 */
const idctKernel = new WasmKernel<{
  /** One 8×8 block: coefficients at `coef` (64 i32, row-major), zigzag index of the last non-zero one, 64 i32 of workspace, samples to `out`, rows `stride` apart. */
  idct(coef: number, last: number, ws: number, out: number, stride: number): void;
}>(JPEG_IDCT_WASM);

const corrupt = (detail: string): VerificationError =>
  VerificationError.corruptImage(new Error(`JPEG: ${detail}`));

/** Zigzag position k → row-major index in the 8×8 block. */
const NATURAL_ORDER = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46,
  53, 60, 61, 54, 47, 55, 62, 63,
]);

/** Codes up to this long are found with one table look-up; longer ones walk the canonical code. */
const LOOKUP_BITS = 9;

/** A Huffman table in canonical form (ITU T.81, Annex C) with a look-up for short codes. */
class HuffmanTable {
  /** (length << 8) | symbol for every LOOKUP_BITS-bit prefix that starts with a short code; 0 otherwise. */
  readonly lookup = new Uint16Array(1 << LOOKUP_BITS);
  /** Largest code of each length (−1 for none), and the offset from a code to its symbol's index. */
  readonly maxCode = new Int32Array(18).fill(-1);
  readonly valueOffset = new Int32Array(17);
  readonly values: Uint8Array;

  constructor(counts: Uint8Array, values: Uint8Array) {
    this.values = values;
    let code = 0;
    let index = 0;
    for (let length = 1; length <= 16; length++) {
      const count = counts[length - 1]!;
      this.valueOffset[length] = index - code;
      for (let i = 0; i < count; i++, index++, code++) {
        if (code >= 1 << length) throw corrupt('a Huffman table has more codes than its lengths allow');
        if (length <= LOOKUP_BITS) {
          const shift = LOOKUP_BITS - length;
          const entry = (length << 8) | values[index]!;
          this.lookup.fill(entry, code << shift, (code + 1) << shift);
        }
      }
      if (count > 0) this.maxCode[length] = code - 1;
      code <<= 1;
    }
    this.maxCode[17] = 0x7fffffff; // a sentinel: a code longer than 16 bits is corrupt
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
  // The entropy-coded data's bit reader: `#bitCount` bits, the oldest highest, in `#bitBuffer`.
  #bitBuffer = 0;
  #bitCount = 0;
  /** A marker (or the end of the bytes) was met: the reader now feeds zero bits, counted here. */
  #atMarker = false;
  #padBits = 0;

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
    // The block's coefficients, the transform's workspace and the plane, in the IDCT's memory.
    const { exports: kernel, buffer, at } = idctKernel.layout([64 * 4, 64 * 4, planeWidth * planeHeight]);
    const [coefficientsAt, workspaceAt, planeAt] = at;
    const coefficients = new Int32Array(buffer, coefficientsAt, 64);
    const plane = new Uint8Array(buffer, planeAt, planeWidth * planeHeight);
    const { idct } = kernel;
    /** The luma's DC prediction (chroma blocks are read past: their DC needs none). */
    let lumaDc = 0;
    // Interleaved: MCUs of every member's h×v blocks; the luma alone: one block per MCU, over the
    // blocks that carry samples (the luma is at full resolution).
    const mcusWide = count > 1 ? frame.mcusWide : Math.ceil(frame.width / 8);
    const mcusHigh = count > 1 ? frame.mcusHigh : Math.ceil(frame.height / 8);
    const total = mcusWide * mcusHigh;
    this.#bitBuffer = 0;
    this.#bitCount = 0;
    this.#atMarker = false;
    this.#padBits = 0;
    for (let mcu = 0; mcu < total; mcu++) {
      if (this.#restartInterval > 0 && mcu > 0 && mcu % this.#restartInterval === 0) {
        this.#restart();
        lumaDc = 0;
      }
      const mcuX = mcu % mcusWide;
      const mcuY = (mcu - mcuX) / mcusWide;
      for (let m = 0; m < count; m++) {
        const { component, dc, ac, quant } = members[m]!;
        const h = count > 1 ? component.h : 1;
        const v = count > 1 ? component.v : 1;
        for (let by = 0; by < v; by++) {
          for (let bx = 0; bx < h; bx++) {
            const difference = this.#receiveExtend(this.#decodeSymbol(dc));
            if (m !== lumaIndex) {
              this.#decodeBlock(ac, quant, 0, coefficients); // read past, never transformed
              continue;
            }
            lumaDc += difference;
            const last = this.#decodeBlock(ac, quant, lumaDc, coefficients);
            const x = (mcuX * h + bx) * 8;
            const y = (mcuY * v + by) * 8;
            idct(coefficientsAt, last, workspaceAt, planeAt + y * planeWidth + x, planeWidth);
          }
        }
      }
    }
    if (this.#atMarker && this.#bitCount < this.#padBits) throw corrupt('the data ends inside the scan');
    if (planeWidth === frame.width && planeHeight === frame.height) {
      return { width: frame.width, height: frame.height, data: plane.slice() };
    }
    const data = new Uint8Array(frame.width * frame.height);
    for (let y = 0; y < frame.height; y++) {
      data.set(plane.subarray(y * planeWidth, y * planeWidth + frame.width), y * frame.width);
    }
    return { width: frame.width, height: frame.height, data };
  }

  /** Refills the bit buffer to more than 24 bits; past a marker, with zero bits (counted). */
  #fill(): void {
    const b = this.#bytes;
    while (this.#bitCount <= 24) {
      let byte = 0;
      if (!this.#atMarker) {
        const pos = this.#pos;
        if (pos >= b.length) {
          this.#atMarker = true;
        } else if (b[pos] === 0xff) {
          if (b[pos + 1] === 0) {
            byte = 0xff; // a stuffed zero
            this.#pos = pos + 2;
          } else {
            this.#atMarker = true; // stays on the marker
          }
        } else {
          byte = b[pos]!;
          this.#pos = pos + 1;
        }
      }
      if (this.#atMarker) this.#padBits += 8;
      this.#bitBuffer = (this.#bitBuffer << 8) | byte;
      this.#bitCount += 8;
    }
  }

  #decodeSymbol(table: HuffmanTable): number {
    if (this.#bitCount < 16) this.#fill();
    const entry =
      table.lookup[(this.#bitBuffer >>> (this.#bitCount - LOOKUP_BITS)) & ((1 << LOOKUP_BITS) - 1)]!;
    if (entry !== 0) {
      this.#bitCount -= entry >> 8;
      return entry & 255;
    }
    let length = LOOKUP_BITS + 1;
    let code = (this.#bitBuffer >>> (this.#bitCount - length)) & ((1 << length) - 1);
    while (code > table.maxCode[length]!) {
      length++;
      code = (this.#bitBuffer >>> (this.#bitCount - length)) & ((1 << length) - 1);
    }
    if (length > 16) throw corrupt('a code that no Huffman table has');
    this.#bitCount -= length;
    const index = code + table.valueOffset[length]!;
    if (index >= table.values.length) throw corrupt('a code that no Huffman table has');
    return table.values[index]!;
  }

  /** The next `size` bits as a signed coefficient (T.81's RECEIVE and EXTEND). */
  #receiveExtend(size: number): number {
    if (size === 0) return 0;
    if (size > 16) throw corrupt('a coefficient of more than 16 bits');
    if (this.#bitCount < size) this.#fill();
    this.#bitCount -= size;
    const value = (this.#bitBuffer >>> this.#bitCount) & ((1 << size) - 1);
    return value < 1 << (size - 1) ? value - (1 << size) + 1 : value;
  }

  /**
   * One block's coefficients, dequantised, in row-major order (the DC given). Returns the
   * zigzag index of the last coefficient coded, 0 when the block is flat.
   */
  #decodeBlock(ac: HuffmanTable, quant: Int32Array, dcValue: number, out: Int32Array): number {
    out.fill(0);
    out[0] = dcValue * quant[0]!;
    let last = 0;
    for (let k = 1; k < 64;) {
      const symbol = this.#decodeSymbol(ac);
      const run = symbol >> 4;
      const size = symbol & 15;
      if (size === 0) {
        if (run !== 15) break; // end of block
        k += 16;
        continue;
      }
      k += run;
      if (k > 63) throw corrupt('a coefficient past the end of its block');
      out[NATURAL_ORDER[k]!] = this.#receiveExtend(size) * quant[k]!;
      last = k;
      k++;
    }
    return last;
  }

  /** A restart interval ends: the bits left are padding, and an RSTn marker must follow. */
  #restart(): void {
    if (this.#atMarker && this.#bitCount < this.#padBits)
      throw corrupt('the data ends inside a restart interval');
    this.#bitBuffer = 0;
    this.#bitCount = 0;
    this.#padBits = 0;
    this.#atMarker = false;
    const marker = this.#skipEntropyData();
    if (marker < 0xd0 || marker > 0xd7) throw corrupt('a restart marker is missing');
    this.#pos += 2;
  }

  /**
   * Moves over entropy-coded bytes to the next marker and returns it (−1 at the end of the data). A
   * scan that holds no luma is skipped this way; its restart markers then need no segment.
   */
  #skipEntropyData(): number {
    const b = this.#bytes;
    for (let pos = this.#pos; pos + 1 < b.length; pos++) {
      if (b[pos] !== 0xff) continue;
      const next = b[pos + 1]!;
      if (next === 0 || next === 0xff) continue;
      this.#pos = pos;
      return next;
    }
    this.#pos = b.length;
    return -1;
  }
}
