import { describe, expect, it } from 'vitest';
import { resampleRegion } from '../image/gray-image.ts';
import { RESAMPLE_WASM } from '../image/resample.wasm.ts';
import { KEPT_KERNEL_BYTES, WasmKernel } from './wasm-kernel.ts';

describe('WasmKernel', () => {
  it('lays calls out in the kept instance up to the cap, and larger ones in an instance of their own', () => {
    const kernel = new WasmKernel<object>(RESAMPLE_WASM);
    const small = kernel.layout([100, 3, 8]);
    expect(small.at).toEqual([0, 104, 112]);
    expect(small.buffer.byteLength).toBeGreaterThanOrEqual(120);
    const kept = kernel.keptBytes;
    const large = kernel.layout([KEPT_KERNEL_BYTES + 1]);
    expect(large.buffer.byteLength).toBeGreaterThan(KEPT_KERNEL_BYTES);
    expect(large.buffer).not.toBe(small.buffer);
    expect(kernel.keptBytes).toBe(kept); // the kept memory did not grow
    expect(kernel.layout([KEPT_KERNEL_BYTES]).buffer.byteLength).toBe(kernel.keptBytes);
  });

  it('a call over the cap computes what the kept instance computes', () => {
    // 8000×1200 random pixels: resampling 1,000 of its rows needs 8 MB of rows and 2 MB of sums
    // (over the cap); the same region of a 2,600-pixel-wide cut of it fits the kept instance.
    let state = 5;
    const random = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
    const [width, height] = [8000, 1200];
    const data = Uint8Array.from({ length: width * height }, () => Math.floor(random() * 256));
    const region = { x: 3000.3, y: 100.6, width: 2500.2, height: 999.1 };
    const large = resampleRegion({ width, height, data }, region, 250, 180);
    const [left, cut] = [2900, 2700];
    const part = new Uint8Array(cut * height);
    for (let y = 0; y < height; y++)
      part.set(data.subarray(y * width + left, y * width + left + cut), y * cut);
    const small = resampleRegion(
      { width: cut, height, data: part },
      { ...region, x: region.x - left },
      250,
      180,
    );
    expect(Buffer.from(large).equals(Buffer.from(small))).toBe(true);
  });
});
