// The warp's per-pixel loops as WebAssembly (warp-kernels.wat, built into warp-kernels.wasm.ts by
// `npm run build:wasm`), one instance per thread, compiled when this module loads. similarity.ts
// lays out the rows of the image a warp reads and its tables in the instance's memory
// (`kernelMemory`), then runs a kernel on them.
import { WARP_KERNELS_WASM } from './warp-kernels.wasm.ts';

export interface WarpKernels {
  readonly memory: WebAssembly.Memory;
  /** See warp-kernels.wat: image rows, per-tap tables, scratch, output (byte offsets). */
  axisAligned(
    img: number,
    w: number,
    x0s: number,
    x1s: number,
    gxs: number,
    fxs: number,
    y0s: number,
    y1s: number,
    gys: number,
    fys: number,
    width: number,
    height: number,
    samples: number,
    channels: number,
    minRow: number,
    maxRow: number,
    across: number,
    sums: number,
    out: number,
  ): void;
  rotated(
    img: number,
    w: number,
    h: number,
    colA: number,
    colB: number,
    rowA: number,
    rowB: number,
    colAMin: number,
    colAMax: number,
    colBMin: number,
    colBMax: number,
    rowExt: number,
    width: number,
    height: number,
    samples: number,
    channels: number,
    out: number,
  ): void;
}

const kernels = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(WARP_KERNELS_WASM, 'base64')), {})
  .exports as unknown as WarpKernels;

const PAGE = 65536;

/**
 * Byte offsets (8-aligned) for blocks of `sizes` bytes in the kernels' memory, grown to hold them,
 * and its buffer (a grow detaches the previous one: views are made after this call). The memory
 * grows to the largest warp a thread has run and stays there; a warp holds only the image rows its
 * taps reach, so that is about a face's region, not a whole upload.
 */
export function kernelMemory(sizes: readonly number[]): {
  kernels: WarpKernels;
  buffer: ArrayBuffer;
  at: number[];
} {
  const at: number[] = [];
  let end = 0;
  for (const size of sizes) {
    at.push(end);
    end += Math.ceil(size / 8) * 8;
  }
  const have = kernels.memory.buffer.byteLength;
  if (end > have) kernels.memory.grow(Math.ceil((end - have) / PAGE));
  return { kernels, buffer: kernels.memory.buffer, at };
}
