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

/** Doubles a {@link scratchFloats} buffer keeps (2 MB). */
const SCRATCH_KEPT = 1 << 18;
let scratchBuffer = new Float64Array(0);
/**
 * A reusable Float64Array of at least `length` (its contents are garbage): the separable passes'
 * intermediate rows, up to a few hundred KB a call, would otherwise be garbage a frame.
 */
export function scratchFloats(length: number): Float64Array {
  // Past 2 MB (a large upload's rows), a buffer of its own, not kept.
  if (length > SCRATCH_KEPT) return new Float64Array(length);
  if (scratchBuffer.length < length) {
    scratchBuffer = new Float64Array(Math.min(SCRATCH_KEPT, Math.max(length, scratchBuffer.length * 2)));
  }
  return scratchBuffer;
}

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
 * the cost follows the source area rather than output pixels × source pixels per output.
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
  const { width: w, height: h, data } = src;
  const cols = axisTaps(region.x, region.width / outWidth, outWidth, w);
  const rows = axisTaps(region.y, region.height / outHeight, outHeight, h);
  // The source rows the region touches (edge rows repeat), each averaged across once.
  let minRow = h;
  let maxRow = -1;
  for (let k = 0; k < rows.index.length; k++) {
    minRow = Math.min(minRow, rows.index[k]!);
    maxRow = Math.max(maxRow, rows.index[k]!);
  }
  const across = scratchFloats((maxRow - minRow + 1) * outWidth);
  const { first: cFirst, index: cIndex, weight: cWeight } = cols;
  for (let r = minRow; r <= maxRow; r++) {
    const row = r * w;
    const base = (r - minRow) * outWidth;
    for (let ox = 0; ox < outWidth; ox++) {
      let sum = 0;
      for (let k = cFirst[ox]!, end = cFirst[ox + 1]!; k < end; k++)
        sum += data[row + cIndex[k]!]! * cWeight[k]!;
      across[base + ox] = sum;
    }
  }
  const out = new Uint8Array(outWidth * outHeight);
  const { first: rFirst, index: rIndex, weight: rWeight, total: rTotal } = rows;
  const cTotal = cols.total;
  for (let oy = 0; oy < outHeight; oy++) {
    const o = oy * outWidth;
    for (let ox = 0; ox < outWidth; ox++) {
      let sum = 0;
      for (let k = rFirst[oy]!, end = rFirst[oy + 1]!; k < end; k++) {
        sum += across[(rIndex[k]! - minRow) * outWidth + ox]! * rWeight[k]!;
      }
      out[o + ox] = Math.min(255, Math.max(0, Math.round(sum / (rTotal[oy]! * cTotal[ox]!))));
    }
  }
  return out;
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
