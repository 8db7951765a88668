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

/**
 * Resamples `region` of `src` (which may extend past the image; outside pixels repeat the edge) to
 * `outWidth`×`outHeight` by area averaging: each output pixel is the mean of the source area it
 * covers, with fractional pixel weights. Deterministic and identical for training and serving.
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
  const out = new Uint8Array(outWidth * outHeight);
  const sx = region.width / outWidth;
  const sy = region.height / outHeight;
  // Column spans are the same for every row: precompute them once.
  const colStart = new Int32Array(outWidth);
  const colEnd = new Int32Array(outWidth);
  const colW0 = new Float64Array(outWidth);
  const colW1 = new Float64Array(outWidth);
  for (let ox = 0; ox < outWidth; ox++) {
    const x0 = region.x + ox * sx;
    const x1 = x0 + sx;
    colStart[ox] = Math.floor(x0);
    colEnd[ox] = Math.ceil(x1) - 1;
    colW0[ox] = colStart[ox]! + 1 - x0;
    colW1[ox] = x1 - colEnd[ox]!;
  }
  const { width: w, height: h, data } = src;
  for (let oy = 0; oy < outHeight; oy++) {
    const y0 = region.y + oy * sy;
    const y1 = y0 + sy;
    const rs = Math.floor(y0);
    const re = Math.ceil(y1) - 1;
    for (let ox = 0; ox < outWidth; ox++) {
      const cs = colStart[ox]!;
      const ce = colEnd[ox]!;
      let sum = 0;
      let area = 0;
      for (let yy = rs; yy <= re; yy++) {
        let wy = 1;
        if (yy === rs) wy = Math.min(wy, rs + 1 - y0);
        if (yy === re) wy = Math.min(wy, y1 - re);
        if (rs === re) wy = y1 - y0;
        const row = Math.min(h - 1, Math.max(0, yy)) * w;
        for (let xx = cs; xx <= ce; xx++) {
          let wx = 1;
          if (xx === cs) wx = Math.min(wx, colW0[ox]!);
          if (xx === ce) wx = Math.min(wx, colW1[ox]!);
          if (cs === ce) wx = sx;
          const wgt = wx * wy;
          sum += data[row + Math.min(w - 1, Math.max(0, xx))]! * wgt;
          area += wgt;
        }
      }
      out[oy * outWidth + ox] = Math.min(255, Math.max(0, Math.round(sum / area)));
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
