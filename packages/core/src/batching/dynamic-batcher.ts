import { EventEmitter } from 'node:events';

export interface DynamicBatcherOptions {
  /** Largest batch handed to the processor. @defaultValue 32 */
  maxBatch?: number;
  /** How long the first item of a batch may wait for company, in ms. @defaultValue 4 */
  maxWaitMs?: number;
  /** Items waiting beyond this are refused at once (backpressure). @defaultValue 1024 */
  maxQueue?: number;
  /** Batches processed at the same time. @defaultValue 1 */
  concurrency?: number;
  /**
   * How many items are on their way to this batcher (a caller that knows, such as a pipeline
   * counting the frames still in detection). When none are, a waiting batch starts at once: the
   * company it would wait `maxWaitMs` for cannot come. @defaultValue always some (the batch waits)
   */
  incoming?: () => number;
}

export const DEFAULT_DYNAMIC_BATCHER_OPTIONS: Required<Omit<DynamicBatcherOptions, 'incoming'>> = {
  maxBatch: 32,
  maxWaitMs: 4,
  maxQueue: 1024,
  concurrency: 1,
};

/** Why an item was not processed. */
export class BatcherError extends Error {
  readonly code: 'QUEUE_FULL' | 'BATCHER_CLOSED';
  constructor(code: 'QUEUE_FULL' | 'BATCHER_CLOSED', message: string) {
    super(message);
    this.name = 'BatcherError';
    this.code = code;
  }
}

export interface BatchReport {
  readonly size: number;
  /** How long the oldest item waited before its batch started, in ms. */
  readonly waitMs: number;
  /** Processor time, in ms. */
  readonly runMs: number;
}

interface Pending<I, O> {
  readonly item: I;
  readonly enqueuedAt: number;
  resolve(value: O): void;
  reject(error: unknown): void;
}

/**
 * Collects items from many callers (sessions) into batches: a batch starts when `maxBatch` items
 * wait, when the oldest has waited `maxWaitMs`, or (with `incoming`) when no other item is on its
 * way, whichever comes first. One processor call per batch; each caller gets its own result back.
 * The queue is bounded.
 *
 * @fires batch — a {@link BatchReport} after each processed batch
 */
export class DynamicBatcher<I, O> extends EventEmitter<{ batch: [BatchReport] }> {
  readonly options: Readonly<Required<Omit<DynamicBatcherOptions, 'incoming'>>>;
  readonly #incoming: (() => number) | null;
  readonly #process: (items: I[]) => Promise<O[]>;
  readonly #queue: Pending<I, O>[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running = 0;
  #closed = false;
  #idleWaiters: (() => void)[] = [];

  constructor(process: (items: I[]) => Promise<O[]>, options: DynamicBatcherOptions = {}) {
    super();
    const { incoming, ...rest } = options;
    const opts = { ...DEFAULT_DYNAMIC_BATCHER_OPTIONS, ...rest };
    if (!(Number.isInteger(opts.maxBatch) && opts.maxBatch >= 1))
      throw new TypeError('maxBatch must be an integer ≥ 1');
    if (!(opts.maxWaitMs >= 0 && Number.isFinite(opts.maxWaitMs)))
      throw new TypeError('maxWaitMs must be ≥ 0');
    if (!(Number.isInteger(opts.maxQueue) && opts.maxQueue >= 1))
      throw new TypeError('maxQueue must be an integer ≥ 1');
    if (!(Number.isInteger(opts.concurrency) && opts.concurrency >= 1)) {
      throw new TypeError('concurrency must be an integer ≥ 1');
    }
    if (incoming !== undefined && typeof incoming !== 'function') {
      throw new TypeError('incoming must be a function');
    }
    this.options = opts;
    this.#incoming = incoming ?? null;
    this.#process = process;
  }

  /** Items waiting for a batch. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Batches being processed now. */
  get running(): number {
    return this.#running;
  }

  submit(item: I): Promise<O> {
    if (this.#closed) return Promise.reject(new BatcherError('BATCHER_CLOSED', 'the batcher is closed'));
    if (this.#queue.length >= this.options.maxQueue) {
      return Promise.reject(
        new BatcherError('QUEUE_FULL', `more than ${this.options.maxQueue} items are waiting`),
      );
    }
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, enqueuedAt: performance.now(), resolve, reject });
      this.#schedule();
    });
  }

  /**
   * Applies the start rules again now. A caller whose `incoming` fell without an item arriving (a
   * frame in detection that had no face) calls it, so that a waiting batch does not wait for it.
   */
  reconsider(): void {
    if (!this.#closed) this.#schedule();
  }

  #schedule(): void {
    while (this.#running < this.options.concurrency && this.#queue.length >= this.options.maxBatch) {
      this.#startBatch();
    }
    if (this.#queue.length === 0 || this.#running >= this.options.concurrency) {
      this.#clearTimer();
      return;
    }
    if (this.#incoming !== null && this.#incoming() === 0) {
      // Nothing else is on its way: waiting for company would only delay this batch.
      this.#startBatch();
      return;
    }
    if (this.#timer === null) {
      const waited = performance.now() - this.#queue[0]!.enqueuedAt;
      this.#timer = setTimeout(
        () => {
          this.#timer = null;
          if (this.#queue.length > 0 && this.#running < this.options.concurrency) this.#startBatch();
          this.#schedule();
        },
        Math.max(0, this.options.maxWaitMs - waited),
      );
    }
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #startBatch(): void {
    this.#clearTimer();
    const batch = this.#queue.splice(0, this.options.maxBatch);
    const started = performance.now();
    const waitMs = started - batch[0]!.enqueuedAt;
    this.#running++;
    void (async () => {
      try {
        const results = await this.#process(batch.map((p) => p.item));
        if (!Array.isArray(results) || results.length !== batch.length) {
          throw new Error(
            `processor returned ${Array.isArray(results) ? results.length : 'no'} results for ${batch.length} items`,
          );
        }
        batch.forEach((p, i) => p.resolve(results[i]!));
      } catch (error) {
        for (const p of batch) p.reject(error);
      } finally {
        this.#running--;
        this.emit('batch', { size: batch.length, waitMs, runMs: performance.now() - started });
        this.#schedule();
        if (this.#running === 0 && this.#queue.length === 0) {
          for (const resolve of this.#idleWaiters.splice(0)) resolve();
        }
      }
    })();
  }

  /**
   * Stops accepting items. With `drain` (default) waiting items are still processed; otherwise
   * they are rejected with `BATCHER_CLOSED`. Resolves when nothing is running. Idempotent.
   */
  async close({ drain = true }: { drain?: boolean } = {}): Promise<void> {
    this.#closed = true;
    if (!drain) {
      this.#clearTimer();
      for (const p of this.#queue.splice(0))
        p.reject(new BatcherError('BATCHER_CLOSED', 'the batcher is closed'));
    } else if (this.#queue.length > 0 && this.#running < this.options.concurrency) {
      this.#startBatch();
    }
    if (this.#running === 0 && this.#queue.length === 0) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }
}
