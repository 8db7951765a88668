// The one way the pipeline runs its WebAssembly kernels (the `.wat` files beside the TypeScript that
// calls them, built by `npm run build:wasm` into committed `.wasm.ts` modules). Each thread compiles
// and instantiates a kernel module once, when the module importing it loads; a call lays out its
// inputs, tables, scratch and output in the instance's memory with `layout`, runs, and copies its
// output out. The memory grows to the largest call a thread has made and stays there.
import type { GrayImage } from '../image/gray-image.ts';

const PAGE = 65536;

export class WasmKernel<E extends object> {
  readonly exports: E;
  readonly #memory: WebAssembly.Memory;

  /** `base64`: a generated `*.wasm.ts` module's bytes; it must export its memory as `memory`. */
  constructor(base64: string) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(base64, 'base64')), {});
    this.exports = instance.exports as unknown as E;
    this.#memory = (instance.exports as { memory: WebAssembly.Memory }).memory;
  }

  /**
   * Byte offsets (8-aligned, from 0) for blocks of `sizes` bytes, the memory grown to hold them, and
   * its buffer. Views must be made after this call: a grow detaches the previous buffer.
   */
  layout(sizes: readonly number[]): { buffer: ArrayBuffer; at: number[] } {
    const at: number[] = [];
    let end = 0;
    for (const size of sizes) {
      at.push(end);
      end += Math.ceil(size / 8) * 8;
    }
    const have = this.#memory.buffer.byteLength;
    if (end > have) this.#memory.grow(Math.ceil((end - have) / PAGE));
    return { buffer: this.#memory.buffer, at };
  }
}

/**
 * Copies rows `first`–`last` of `image` to byte `at` of `buffer` and returns the address a kernel
 * indexes the image from (row r at `address + r·width`). The address may be "negative": a kernel's
 * 32-bit address arithmetic wraps, so `address + r·width` still lands on the copy for those rows.
 * Kernels get only the rows they read, so a face's crop of a large upload copies about the face.
 */
export function placeRows(
  image: GrayImage,
  buffer: ArrayBuffer,
  at: number,
  first: number,
  last: number,
): number {
  const { width: w, data } = image;
  new Uint8Array(buffer, at, (last - first + 1) * w).set(data.subarray(first * w, (last + 1) * w));
  return (at - first * w) | 0;
}
