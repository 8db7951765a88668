// The one way the pipeline runs its WebAssembly kernels (the `.wat` files beside the TypeScript that
// calls them, built by `npm run build:wasm` into committed `.wasm.ts` modules). Each thread compiles
// a kernel module once, when the module importing it loads, and keeps one instance; a call lays out
// its inputs, tables, scratch and output in an instance's memory with `layout`, runs that
// instance's exports, and copies its output out.
import type { GrayImage } from '../image/gray-image.ts';

const PAGE = 65536;

/**
 * The most memory a thread keeps for one kernel module (a live frame's calls need far less: a
 * 640×480 frame's scaled copy about 1.6 MB). A call that needs more, such as the detector's copy
 * of a large upload, runs on an instance of its own, whose memory is collected with it.
 */
export const KEPT_KERNEL_BYTES = 8 * 1024 * 1024;

/** A byte count (scratch, output, an image's rows) or a table copied into the kernel's memory. */
export type KernelBlock = number | Int32Array | Float64Array;

interface Instance<E> {
  readonly exports: E;
  readonly memory: WebAssembly.Memory;
}

export class WasmKernel<E extends object> {
  readonly #module: WebAssembly.Module;
  readonly #kept: Instance<E>;

  /** `base64`: a generated `*.wasm.ts` module's bytes; it must export its memory as `memory`. */
  constructor(base64: string) {
    this.#module = new WebAssembly.Module(Buffer.from(base64, 'base64'));
    this.#kept = this.#instantiate();
  }

  /** Bytes of memory the kept instance holds. */
  get keptBytes(): number {
    return this.#kept.memory.buffer.byteLength;
  }

  /**
   * Byte offsets (8-aligned, from 0) for `blocks`, an instance whose memory holds them, and that
   * memory's buffer: the kept instance, or for a call over {@link KEPT_KERNEL_BYTES} one of its own.
   * A block is a byte count (scratch, output, an image's rows: written by the caller or the kernel)
   * or a table, copied in. Views must be made after this call (a grow detaches the previous
   * buffer), and the kernel run is the returned instance's.
   */
  layout<const B extends readonly KernelBlock[]>(
    blocks: B,
  ): {
    exports: E;
    buffer: ArrayBuffer;
    /** One offset per block, in the blocks' order. */
    at: { -readonly [K in keyof B]: number };
  } {
    const at: number[] = [];
    let end = 0;
    for (const block of blocks) {
      at.push(end);
      end += Math.ceil((typeof block === 'number' ? block : block.byteLength) / 8) * 8;
    }
    const instance = end <= KEPT_KERNEL_BYTES ? this.#kept : this.#instantiate();
    const have = instance.memory.buffer.byteLength;
    if (end > have) instance.memory.grow(Math.ceil((end - have) / PAGE));
    const buffer = instance.memory.buffer;
    blocks.forEach((block, i) => {
      if (typeof block === 'number') return;
      const view =
        block instanceof Int32Array
          ? new Int32Array(buffer, at[i], block.length)
          : new Float64Array(buffer, at[i], block.length);
      view.set(block);
    });
    return { exports: instance.exports, buffer, at: at as { -readonly [K in keyof B]: number } };
  }

  #instantiate(): Instance<E> {
    const { exports } = new WebAssembly.Instance(this.#module, {});
    return { exports: exports as unknown as E, memory: (exports as { memory: WebAssembly.Memory }).memory };
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
