// Similarity transforms between images and face chips: least-squares fits onto landmark templates,
// and a bilinear warp (optionally supersampled) that cuts the chip. Shared by serving (the aligned
// 62×47 crop) and the offline teacher (dlib's 150×150 chips).
import type { GrayImage, Rect } from '../image/gray-image.ts';
import { placeRows } from '../wasm/wasm-kernel.ts';
import { warpKernels } from './warp-kernels.ts';

/**
 * dlib's mean face (points 17–67 of the 68-point scheme: brows, nose, eyes, mouth) in a unit square;
 * `get_face_chip_details` maps it with padding 0.25 into the 150×150 chip the recognition net
 * was trained on.
 */
// prettier-ignore
const MEAN_FACE_X = [
  0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124, 0.904991,
  0.98004, 0.490127, 0.490127, 0.490127, 0.490127, 0.36688, 0.426036, 0.490127, 0.554217,
  0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918, 0.182743, 0.645647, 0.714428,
  0.793132, 0.858516, 0.79751, 0.719335, 0.254149, 0.340985, 0.428858, 0.490127, 0.551395,
  0.639268, 0.726104, 0.642159, 0.556721, 0.490127, 0.423532, 0.338094, 0.290379, 0.428096,
  0.490127, 0.552157, 0.689874, 0.553364, 0.490127, 0.42689,
];
// prettier-ignore
const MEAN_FACE_Y = [
  0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915,
  0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326, 0.609345, 0.628106, 0.609345,
  0.587326, 0.216423, 0.178758, 0.179852, 0.231733, 0.245099, 0.244077, 0.231733, 0.179852,
  0.178758, 0.216423, 0.244077, 0.245099, 0.780233, 0.745405, 0.727388, 0.742578, 0.727388,
  0.745405, 0.780233, 0.864805, 0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746,
  0.785343, 0.778746, 0.784792, 0.824182, 0.831803, 0.824182,
];

/** A 2-D similarity transform `p' = [a -b; b a] p + [tx ty]`. */
export interface Similarity {
  readonly a: number;
  readonly b: number;
  readonly tx: number;
  readonly ty: number;
}

/** Least-squares similarity transform taking `from[i]` onto `to[i]` (Umeyama without reflection). */
export function fitSimilarity(from: ArrayLike<number>, to: ArrayLike<number>): Similarity {
  const n = from.length / 2;
  let fx = 0;
  let fy = 0;
  let tx = 0;
  let ty = 0;
  for (let i = 0; i < n; i++) {
    fx += from[2 * i]!;
    fy += from[2 * i + 1]!;
    tx += to[2 * i]!;
    ty += to[2 * i + 1]!;
  }
  fx /= n;
  fy /= n;
  tx /= n;
  ty /= n;
  let sxx = 0;
  let sab = 0;
  let sabCross = 0;
  for (let i = 0; i < n; i++) {
    const x = from[2 * i]! - fx;
    const y = from[2 * i + 1]! - fy;
    const u = to[2 * i]! - tx;
    const v = to[2 * i + 1]! - ty;
    sxx += x * x + y * y;
    sab += x * u + y * v;
    sabCross += x * v - y * u;
  }
  const a = sab / sxx;
  const b = sabCross / sxx;
  return { a, b, tx: tx - (a * fx - b * fy), ty: ty - (b * fx + a * fy) };
}

/**
 * The transform from image pixels to chip pixels that puts 68 landmarks (image pixels,
 * `[x0,y0,x1,y1,…]`) onto dlib's mean face in a `size`-pixel chip with `padding`.
 */
export function alignmentTransform(landmarks: ArrayLike<number>, size: number, padding: number): Similarity {
  const from: number[] = [];
  const to: number[] = [];
  for (let i = 0; i < MEAN_FACE_X.length; i++) {
    from.push(landmarks[2 * (i + 17)]!, landmarks[2 * (i + 17) + 1]!);
    to.push(
      ((MEAN_FACE_X[i]! + padding) / (1 + 2 * padding)) * size,
      ((MEAN_FACE_Y[i]! + padding) / (1 + 2 * padding)) * size,
    );
  }
  return fitSimilarity(from, to);
}

/**
 * Warps `image` into a `width`×`height` output through the inverse of `toOut` (image → output),
 * bilinear, edges repeated. Gray values are written `channels` times per pixel (3 for RGB nets).
 * With `samples` > 1 each output pixel averages `samples`×`samples` bilinear taps spread over its
 * footprint (an area filter for downscaling; 1 is plain bilinear).
 *
 * The tables (where each column's and row's taps fall) are computed here; the per-pixel loops run
 * in WebAssembly (warp-kernels.wat), on a copy of only the image rows the taps reach.
 */
export function warpSimilarity(
  image: GrayImage,
  toOut: Similarity,
  width: number,
  height: number,
  channels = 1,
  out = new Uint8Array(width * height * channels),
  offset = 0,
  samples = 1,
): Uint8Array {
  if (!(Number.isInteger(samples) && samples >= 1)) throw new RangeError('samples must be an integer ≥ 1');
  if (!(Number.isInteger(channels) && channels >= 1)) throw new RangeError('channels must be an integer ≥ 1');
  if (!(image.width >= 1 && image.height >= 1)) throw new RangeError('cannot warp an empty image');
  // Inverse of [a -b; b a]: [a b; -b a] / (a² + b²).
  const det = toOut.a * toOut.a + toOut.b * toOut.b;
  const ia = toOut.a / det;
  const ib = -toOut.b / det;
  if (![ia, ib, toOut.tx, toOut.ty].every(Number.isFinite)) {
    throw new RangeError('the warp transform must be finite and invertible');
  }
  if (width <= 0 || height <= 0) return out;
  // Tap centres inside each output pixel (one tap samples its centre, x + 0.5): the products with
  // the inverse matrix are computed once per column and per row. Each tap then evaluates
  // px = ia·ox − ib·oy − 0.5 and py = ib·ox + ia·oy − 0.5 with the same operations as a direct
  // per-tap computation would, so the result does not depend on this caching.
  const colA = new Float64Array(width * samples);
  const colB = new Float64Array(width * samples);
  for (let x = 0; x < width; x++) {
    for (let sx = 0; sx < samples; sx++) {
      const ox = x + (sx + 0.5) / samples - toOut.tx;
      colA[x * samples + sx] = ia * ox;
      colB[x * samples + sx] = ib * ox;
    }
  }
  const rowB = new Float64Array(height * samples);
  const rowA = new Float64Array(height * samples);
  for (let y = 0; y < height; y++) {
    for (let sy = 0; sy < samples; sy++) {
      const oy = y + (sy + 0.5) / samples - toOut.ty;
      rowB[y * samples + sy] = ib * oy;
      rowA[y * samples + sy] = ia * oy;
    }
  }
  return ib === 0
    ? warpAxisAligned(image, colA, rowA, width, height, samples, channels, out, offset)
    : warpRotated(image, colA, colB, rowA, rowB, width, height, samples, channels, out, offset);
}

/**
 * The bilinear taps along one axis of an unrotated warp, from each tap's source coordinate plus 0.5
 * (`products`): the coordinate clamped to [0, max], its pixel `lo` and the next `hi` (the edge
 * repeats), and the weights `g` = 1 − `f` of `lo` and `f` of `hi`.
 */
function bilinearTaps(
  products: Float64Array,
  max: number,
): { lo: Int32Array; hi: Int32Array; g: Float64Array; f: Float64Array } {
  const n = products.length;
  const lo = new Int32Array(n);
  const hi = new Int32Array(n);
  const g = new Float64Array(n);
  const f = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let p = products[i]! - 0.5;
    p = p < 0 ? 0 : p > max ? max : p;
    const p0 = Math.floor(p);
    lo[i] = p0;
    hi[i] = p0 < max ? p0 + 1 : max;
    f[i] = p - p0;
    g[i] = 1 - f[i]!;
  }
  return { lo, hi, g, f };
}

/**
 * {@link warpSimilarity} without rotation (a landmark net's chip): every tap of a column samples the
 * same source x, every tap of a row the same source y, so the bilinear taps separate. Each source
 * row the taps reach is interpolated across once (the sum of a column's taps), then those sums are
 * interpolated down: for a 3×3-tap 112 px chip, about a third of the work of tap by tap. Same
 * taps and weights; only the order of the additions differs.
 */
function warpAxisAligned(
  image: GrayImage,
  colA: Float64Array,
  rowA: Float64Array,
  width: number,
  height: number,
  samples: number,
  channels: number,
  out: Uint8Array,
  offset: number,
): Uint8Array {
  const { width: w, height: h } = image;
  const xs = bilinearTaps(colA, w - 1);
  const ys = bilinearTaps(rowA, h - 1);
  // The rows the taps reach: the image copy holds only those.
  let minRow = h - 1;
  let maxRow = 0;
  for (let i = 0; i < ys.lo.length; i++) {
    minRow = Math.min(minRow, ys.lo[i]!);
    maxRow = Math.max(maxRow, ys.hi[i]!);
  }
  const rows = maxRow - minRow + 1;
  const {
    exports: kernels,
    buffer,
    at,
  } = warpKernels.layout([
    rows * w, // image rows
    xs.lo,
    xs.hi,
    xs.g,
    xs.f,
    ys.lo,
    ys.hi,
    ys.g,
    ys.f,
    rows * width * 8, // across
    width * 8, // sums
    width * height * channels, // out
  ]);
  const [imgAt, x0At, x1At, gxAt, fxAt, y0At, y1At, gyAt, fyAt, acrossAt, sumsAt, outAt] = at;
  const img = placeRows(image, buffer, imgAt, minRow, maxRow);
  kernels.axisAligned(
    img,
    w,
    x0At,
    x1At,
    gxAt,
    fxAt,
    y0At,
    y1At,
    gyAt,
    fyAt,
    width,
    height,
    samples,
    channels,
    minRow,
    maxRow,
    acrossAt,
    sumsAt,
    outAt,
  );
  out.set(new Uint8Array(buffer, outAt, width * height * channels), offset);
  return out;
}

/**
 * {@link warpSimilarity} with rotation, tap by tap. Each column's and row's extreme products (every
 * tap's source point is monotone in both) let the kernel find the output pixels whose taps all land
 * where no clamp applies with right and lower neighbours (0 ≤ px < maxX, 0 ≤ py < maxY, the bounds
 * computed by the taps' own operations): those take the branch-free loop. Most of a face crop does;
 * the result is the same either way.
 */
function warpRotated(
  image: GrayImage,
  colA: Float64Array,
  colB: Float64Array,
  rowA: Float64Array,
  rowB: Float64Array,
  width: number,
  height: number,
  samples: number,
  channels: number,
  out: Uint8Array,
  offset: number,
): Uint8Array {
  const { width: w, height: h } = image;
  const maxY = h - 1;
  const colAMin = new Float64Array(width);
  const colAMax = new Float64Array(width);
  const colBMin = new Float64Array(width);
  const colBMax = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    colAMin[x] = colAMax[x] = colA[x * samples]!;
    colBMin[x] = colBMax[x] = colB[x * samples]!;
    for (let sx = 1; sx < samples; sx++) {
      const ca = colA[x * samples + sx]!;
      const cb = colB[x * samples + sx]!;
      colAMin[x] = Math.min(colAMin[x]!, ca);
      colAMax[x] = Math.max(colAMax[x]!, ca);
      colBMin[x] = Math.min(colBMin[x]!, cb);
      colBMax[x] = Math.max(colBMax[x]!, cb);
    }
  }
  // Per row: rbMin, rbMax, raMin, raMax.
  const rowExt = new Float64Array(height * 4);
  for (let y = 0; y < height; y++) {
    let rbMin = Infinity;
    let rbMax = -Infinity;
    let raMin = Infinity;
    let raMax = -Infinity;
    for (let sy = 0; sy < samples; sy++) {
      rbMin = Math.min(rbMin, rowB[y * samples + sy]!);
      rbMax = Math.max(rbMax, rowB[y * samples + sy]!);
      raMin = Math.min(raMin, rowA[y * samples + sy]!);
      raMax = Math.max(raMax, rowA[y * samples + sy]!);
    }
    rowExt[y * 4] = rbMin;
    rowExt[y * 4 + 1] = rbMax;
    rowExt[y * 4 + 2] = raMin;
    rowExt[y * 4 + 3] = raMax;
  }
  // The rows the taps reach (py = colB + ra − 0.5, clamped; the bilinear's lower neighbour below),
  // a row wider each way than the extremes say, against rounding.
  let pyMin = Infinity;
  let pyMax = -Infinity;
  for (let x = 0; x < width; x++) {
    pyMin = Math.min(pyMin, colBMin[x]!);
    pyMax = Math.max(pyMax, colBMax[x]!);
  }
  let raLow = Infinity;
  let raHigh = -Infinity;
  for (let y = 0; y < height; y++) {
    raLow = Math.min(raLow, rowExt[y * 4 + 2]!);
    raHigh = Math.max(raHigh, rowExt[y * 4 + 3]!);
  }
  const clampRow = (v: number): number => (v < 0 ? 0 : v > maxY ? maxY : Math.floor(v));
  const first = Math.max(0, clampRow(pyMin + raLow - 0.5) - 1);
  const last = Math.min(maxY, clampRow(pyMax + raHigh - 0.5) + 2);
  const rows = last - first + 1;
  const {
    exports: kernels,
    buffer,
    at,
  } = warpKernels.layout([
    rows * w, // image rows
    colA,
    colB,
    rowA,
    rowB,
    colAMin,
    colAMax,
    colBMin,
    colBMax,
    rowExt,
    width * height * channels, // out
  ]);
  const [imgAt, colAAt, colBAt, rowAAt, rowBAt, colAMinAt, colAMaxAt, colBMinAt, colBMaxAt, rowExtAt, outAt] =
    at;
  const img = placeRows(image, buffer, imgAt, first, last);
  kernels.rotated(
    img,
    w,
    h,
    colAAt,
    colBAt,
    rowAAt,
    rowBAt,
    colAMinAt,
    colAMaxAt,
    colBMinAt,
    colBMaxAt,
    rowExtAt,
    width,
    height,
    samples,
    channels,
    outAt,
  );
  out.set(new Uint8Array(buffer, outAt, width * height * channels), offset);
  return out;
}

/** The scale of a similarity transform (output pixels per image pixel). */
export function similarityScale(t: Similarity): number {
  return Math.hypot(t.a, t.b);
}

/** Maps `[x0,y0,x1,y1,…]` through `t`. */
export function applySimilarity(t: Similarity, points: ArrayLike<number>): Float64Array {
  const out = new Float64Array(points.length);
  for (let i = 0; i < points.length; i += 2) {
    const x = points[i]!;
    const y = points[i + 1]!;
    out[i] = t.a * x - t.b * y + t.tx;
    out[i + 1] = t.b * x + t.a * y + t.ty;
  }
  return out;
}

/** The 68-point indices dlib's mean face has (17–67: brows, nose, eyes, mouth). */
export const MEAN_FACE_POINTS: readonly [number, number] = [17, 67];

/**
 * dlib's mean face points `first`–`last` (68-point indices, inclusive, within 17–67) as
 * `[x0,y0,…]` in its unit square, scaled by `scale` and moved by (`dx`, `dy`): the template an
 * aligned crop puts those landmarks on.
 */
export function meanFaceTemplate(scale: number, dx: number, dy: number, first = 17, last = 67): Float64Array {
  if (!(first >= 17 && last <= 67 && first < last))
    throw new RangeError(`mean face points are 17–67, got ${first}–${last}`);
  const out = new Float64Array((last - first + 1) * 2);
  for (let k = first; k <= last; k++) {
    out[2 * (k - first)] = MEAN_FACE_X[k - 17]! * scale + dx;
    out[2 * (k - first) + 1] = MEAN_FACE_Y[k - 17]! * scale + dy;
  }
  return out;
}

/** Points `first`–`last` (inclusive) of a 68-point set `[x0,y0,…]` × 68. */
export function templatePoints(landmarks68: ArrayLike<number>, first = 17, last = 67): Float64Array {
  const out = new Float64Array((last - first + 1) * 2);
  for (let i = 0; i < out.length; i++) out[i] = landmarks68[2 * first + i]!;
  return out;
}

/** The similarity transform that maps a square image region onto a `size`-pixel chip. */
export function boxTransform(region: Rect, size: number): Similarity {
  const s = size / region.width;
  return { a: s, b: 0, tx: -region.x * s, ty: -region.y * s };
}

/** A square region around a face box: side `scale`× the box width, centre moved down by `shift`× box height. */
export function squareAround(box: Rect, scale: number, shift: number): Rect {
  const side = box.width * scale;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2 + box.height * shift;
  return { x: cx - side / 2, y: cy - side / 2, width: side, height: side };
}
