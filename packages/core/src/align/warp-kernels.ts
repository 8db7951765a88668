// The warp's per-pixel loops as WebAssembly (warp-kernels.wat, built into warp-kernels.wasm.ts by
// `npm run build:wasm`), one instance per thread (see ../wasm/wasm-kernel.ts). similarity.ts lays
// out the rows of the image a warp reads and its tables in the instance's memory, then runs a
// kernel on them.
import { WasmKernel } from '../wasm/wasm-kernel.ts';
import { WARP_KERNELS_WASM } from './warp-kernels.wasm.ts';

export interface WarpKernels {
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

/** The warp kernels of this thread. */
export const warpKernels = new WasmKernel<WarpKernels>(WARP_KERNELS_WASM);
