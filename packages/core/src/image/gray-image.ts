import { WasmKernel, placeRows } from '../wasm/wasm-kernel.ts';
import { RESAMPLE_WASM } from './resample.wasm.ts';

/** An 8-bit single-channel image, row-major, no padding between rows. */
export interface GrayImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** An axis-aligned rectangle in pixel coordinates of some image. */
export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** A rectangle rounded to 0.1 px, for reports and wire messages. */
export function roundRect(rect: Rect): Rect {
  const round = (v: number): number => Math.round(v * 10) / 10;
  return { x: round(rect.x), y: round(rect.y), width: round(rect.width), height: round(rect.height) };
}

export function assertGrayImage(image: GrayImage): void {
  if (
    !Number.isInteger(image.width) ||
    !Number.isInteger(image.height) ||
    image.width < 1 ||
    image.height < 1
  ) {
    throw new TypeError(`image size must be positive integers, got ${image.width}×${image.height}`);
  }
  if (image.data.length !== image.width * image.height) {
    throw new TypeError(`image data has ${image.data.length} bytes, expected ${image.width * image.height}`);
  }
}

/** The resample's loops (resample.wat), one instance per thread. */
const resampleKernel = new WasmKernel<{
  /** Byte addresses of the image rows and the tables (see resample.wat), and the sizes. */
  resample(
    img: number,
    w: number,
    cFirst: number,
    cIndex: number,
    cWeight: number,
    cTotal: number,
    outWidth: number,
    rFirst: number,
    rIndex: number,
    rWeight: number,
    rTotal: number,
    outHeight: number,
    minRow: number,
    maxRow: number,
    across: number,
    sums: number,
    out: number,
  ): void;
}>(RESAMPLE_WASM);

/**
 * The source taps of an area-averaging resample along one axis: output pixel `o` covers source
 * `[start + o·step, start + (o+1)·step)`; its taps are the source indices it touches (clamped to
 * `[0, size)`: outside pixels repeat the edge) with their covered fractions as weights.
 */
interface AxisTaps {
  /** Taps of output `o`: `first[o]` to `first[o + 1] - 1` in `index` and `weight`. */
  readonly first: Int32Array;
  readonly index: Int32Array;
  readonly weight: Float64Array;
  /** Sum of output `o`'s weights. */
  readonly total: Float64Array;
}

function axisTaps(start: number, step: number, count: number, size: number): AxisTaps {
  const first = new Int32Array(count + 1);
  let taps = 0;
  for (let o = 0; o < count; o++) {
    const a = start + o * step;
    taps += Math.ceil(a + step) - Math.floor(a);
  }
  const index = new Int32Array(taps);
  const weight = new Float64Array(taps);
  const total = new Float64Array(count);
  let k = 0;
  for (let o = 0; o < count; o++) {
    first[o] = k;
    const a = start + o * step;
    const b = a + step;
    const lo = Math.floor(a);
    const hi = Math.ceil(b) - 1;
    let sum = 0;
    for (let i = lo; i <= hi; i++) {
      let wt = 1;
      if (i === lo) wt = Math.min(wt, lo + 1 - a);
      if (i === hi) wt = Math.min(wt, b - hi);
      if (lo === hi) wt = step;
      index[k] = i < 0 ? 0 : i >= size ? size - 1 : i;
      weight[k++] = wt;
      sum += wt;
    }
    total[o] = sum;
  }
  first[count] = k;
  return { first, index, weight, total };
}

/**
 * Resamples `region` of `src` (which may extend past the image; outside pixels repeat the edge) to
 * `outWidth`×`outHeight` by area averaging: each output pixel is the mean of the source area it
 * covers, with fractional pixel weights. Deterministic and identical for training and serving.
 * Separable: each source row the region touches is averaged across once, then the rows down, so
 * the cost follows the source area rather than output pixels × source pixels per output. The taps
 * are computed here; the loops run in WebAssembly (resample.wat), on a copy of the rows they read.
 */
export function resampleRegion(
  src: GrayImage,
  region: Rect,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  assertGrayImage(src);
  if (!(region.width > 0 && region.height > 0)) {
    throw new TypeError('region must have a positive size');
  }
  if (![region.x, region.y, region.width, region.height].every(Number.isFinite)) {
    throw new TypeError('region must be finite');
  }
  if (!(Number.isInteger(outWidth) && outWidth >= 1 && Number.isInteger(outHeight) && outHeight >= 1)) {
    throw new TypeError('the output size must be positive integers');
  }
  const { width: w, height: h } = src;
  const cols = axisTaps(region.x, region.width / outWidth, outWidth, w);
  const rows = axisTaps(region.y, region.height / outHeight, outHeight, h);
  // The source rows the region touches (edge rows repeat), each averaged across once.
  let minRow = h;
  let maxRow = -1;
  for (let k = 0; k < rows.index.length; k++) {
    minRow = Math.min(minRow, rows.index[k]!);
    maxRow = Math.max(maxRow, rows.index[k]!);
  }
  const c = outWidth;
  const r = outHeight;
  const {
    exports: kernel,
    buffer,
    at,
  } = resampleKernel.layout([
    (maxRow - minRow + 1) * w, // image rows
    cols.first,
    cols.index,
    cols.weight,
    cols.total,
    rows.first,
    rows.index,
    rows.weight,
    rows.total,
    (maxRow - minRow + 1) * c * 8, // across
    c * 8, // sums
    c * r, // out
  ]);
  const [
    imgAt,
    cFirstAt,
    cIndexAt,
    cWeightAt,
    cTotalAt,
    rFirstAt,
    rIndexAt,
    rWeightAt,
    rTotalAt,
    acrossAt,
    sumsAt,
    outAt,
  ] = at;
  const img = placeRows(src, buffer, imgAt, minRow, maxRow);
  kernel.resample(
    img,
    w,
    cFirstAt,
    cIndexAt,
    cWeightAt,
    cTotalAt,
    c,
    rFirstAt,
    rIndexAt,
    rWeightAt,
    rTotalAt,
    r,
    minRow,
    maxRow,
    acrossAt,
    sumsAt,
    outAt,
  );
  return new Uint8Array(buffer, outAt, c * r).slice();
}

/**
 * Places `src` in the middle of a larger canvas filled with `fill`, adding `ratio`×size on each
 * side. Tightly framed faces fill the whole image and are larger than the detector's biggest search
 * window; padding gives them a border so they can be found.
 */
export function padImage(
  src: GrayImage,
  ratio: number,
  fill = 128,
): { image: GrayImage; offsetX: number; offsetY: number } {
  const offsetX = Math.round(src.width * ratio);
  const offsetY = Math.round(src.height * ratio);
  const width = src.width + 2 * offsetX;
  const height = src.height + 2 * offsetY;
  const data = new Uint8Array(width * height).fill(fill);
  for (let y = 0; y < src.height; y++) {
    data.set(src.data.subarray(y * src.width, (y + 1) * src.width), (y + offsetY) * width + offsetX);
  }
  return { image: { width, height, data }, offsetX, offsetY };
}
