import type { Worker } from 'node:worker_threads';
import {
  siblingEntry,
  startWorker,
  type AlignedCropSpec,
  type AnalysedFrame,
  type GrayImage,
  type HaarDetectorOptions,
} from '@fv/core';

export interface DetectWorkerData {
  readonly detector: HaarDetectorOptions;
  /** Aligned crops: the model directory and its crop spec (each worker loads the landmark net). */
  readonly align: { readonly modelDir: string; readonly spec: AlignedCropSpec } | null;
}

export type DetectRequest =
  | { kind: 'detect'; id: number; stream: string; width: number; height: number; data: ArrayBuffer }
  | { kind: 'release'; stream: string };

/** A worker's answer: core's `analyseFrame` result, or why it failed. */
export type DetectResponse =
  ({ id: number; ok: true } & AnalysedFrame) | { id: number; ok: false; message: string };

export type DetectResult = Extract<DetectResponse, { ok: true }>;

interface Slot {
  worker: Worker;
  streams: number;
}

/**
 * Face detection on worker threads, so it neither blocks the event loop (signalling, sockets) nor
 * stays on one core. Each stream is pinned to one worker, which keeps that stream's tracker; new
 * streams go to the least loaded worker. Frames are transferred, not copied.
 */
export class DetectPool {
  readonly size: number;
  readonly #slots: Slot[];
  readonly #assigned = new Map<string, Slot>();
  readonly #pending = new Map<number, { resolve: (r: DetectResult) => void; reject: (e: Error) => void }>();
  #nextId = 0;
  #closed = false;

  private constructor(slots: Slot[]) {
    this.#slots = slots;
    this.size = slots.length;
    for (const slot of slots) {
      slot.worker.on('message', (message: DetectResponse) => {
        const waiter = this.#pending.get(message.id);
        if (!waiter) return;
        this.#pending.delete(message.id);
        if (message.ok) waiter.resolve(message);
        else waiter.reject(new Error(message.message));
      });
      slot.worker.on('error', (error) => this.#failAll(error));
    }
  }

  /** Starts `size` workers and waits until each has its detector loaded. */
  static async create(
    size: number,
    detector: HaarDetectorOptions = {},
    align: DetectWorkerData['align'] = null,
  ): Promise<DetectPool> {
    if (!(Number.isInteger(size) && size >= 1)) throw new TypeError('size must be an integer ≥ 1');
    const slots = await Promise.all(
      Array.from({ length: size }, async () => {
        const worker = startWorker(siblingEntry('detect-worker', import.meta.url), {
          detector,
          align,
        } satisfies DetectWorkerData);
        await new Promise<void>((resolve, reject) => {
          worker.once('message', () => resolve());
          worker.once('error', reject);
        });
        return { worker, streams: 0 };
      }),
    );
    return new DetectPool(slots);
  }

  detect(stream: string, frame: GrayImage): Promise<DetectResult> {
    if (this.#closed) return Promise.reject(new Error('DetectPool is closed'));
    let slot = this.#assigned.get(stream);
    if (slot === undefined) {
      slot = this.#slots.reduce((a, b) => (b.streams < a.streams ? b : a));
      slot.streams++;
      this.#assigned.set(stream, slot);
    }
    const id = this.#nextId++;
    // Transfer when the frame owns its whole buffer; otherwise copy just its bytes (never detach a
    // buffer the frame only borrows a view of).
    const owns = frame.data.byteOffset === 0 && frame.data.buffer.byteLength === frame.data.length;
    const data = owns ? frame.data.buffer : new Uint8Array(frame.data).buffer;
    const target = slot;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const request: DetectRequest = {
        kind: 'detect',
        id,
        stream,
        width: frame.width,
        height: frame.height,
        data: data as ArrayBuffer,
      };
      target.worker.postMessage(request, [data as ArrayBuffer]);
    });
  }

  /** Forgets a stream (its tracker in the worker). */
  release(stream: string): void {
    const slot = this.#assigned.get(stream);
    if (slot === undefined) return;
    this.#assigned.delete(stream);
    slot.streams--;
    if (!this.#closed) slot.worker.postMessage({ kind: 'release', stream } satisfies DetectRequest);
  }

  #failAll(error: Error): void {
    for (const waiter of this.#pending.values()) waiter.reject(error);
    this.#pending.clear();
  }

  /** Terminates the workers; pending detections reject. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll(new Error('DetectPool is closed'));
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }
}
