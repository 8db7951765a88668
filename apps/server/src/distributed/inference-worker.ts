import { EventEmitter } from 'node:events';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { redisOptionsFromUrl } from './redis-options.ts';
import { DynamicBatcher, normalizeCrop, type BatchReport, type Embedder } from '@fv/core';
import { parseEmbedJob, type EmbedJob, type EmbedResult, type ProtocolError } from '@fv/protocol';
import { packEmbeddings, resultChannel, unpackCrops } from './messages.ts';

export interface InferenceWorkerOptions {
  redisUrl: string;
  /** @defaultValue 'fv-embed' */
  queueName?: string;
  /** Faces per model run at most; also how many jobs are taken at once. @defaultValue 64 */
  maxBatch?: number;
  /** How long a batch waits for more faces, ms (latency traded for throughput). @defaultValue 4 */
  maxWaitMs?: number;
}

/**
 * The inference side of distributed mode. Open-source BullMQ has no batch consumption (that is
 * BullMQ Pro), so the worker takes up to `maxBatch` jobs concurrently and feeds every crop into
 * one dynamic batcher: jobs from many gateways share model runs. Expired jobs are dropped, and
 * each result goes to the owning gateway's channel only. A job that names other model weights than
 * this worker's (a gateway and a worker on different `MODEL_DIR`s) is refused, not embedded. A job
 * whose data is no `EmbedJob` (`parseEmbedJob`) is reported and dropped.
 *
 * @fires batch — a {@link BatchReport} per model run
 * @fires job — `{ faces, queueMs, expired, refused }` per job
 * @fires malformed — `{ jobId, error }` per job that failed to parse
 */
export class InferenceWorker extends EventEmitter<{
  batch: [BatchReport];
  job: [{ faces: number; queueMs: number; expired: boolean; refused: boolean }];
  malformed: [{ jobId: string; error: ProtocolError }];
}> {
  readonly #worker: Worker<unknown>;
  readonly #publisher: Redis;
  readonly #batcher: DynamicBatcher<Uint8Array, Float32Array>;
  readonly #queueName: string;
  /** sha256 of the weights this worker serves. */
  readonly #model: string;
  #closing: Promise<void> | null = null;

  constructor(embedder: Embedder, options: InferenceWorkerOptions) {
    super();
    const maxBatch = options.maxBatch ?? 64;
    this.#queueName = options.queueName ?? 'fv-embed';
    this.#model = embedder.manifest.sha256;
    this.#batcher = new DynamicBatcher((crops) => embedder.embed(crops.map(normalizeCrop)), {
      maxBatch,
      maxWaitMs: options.maxWaitMs ?? 4,
      maxQueue: maxBatch * 64,
    });
    this.#batcher.on('batch', (report) => this.emit('batch', report));
    this.#publisher = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
    this.#publisher.on('error', () => {
      // reconnects by itself
    });
    this.#worker = new Worker<unknown>(this.#queueName, (job) => this.#process(job), {
      connection: redisOptionsFromUrl(options.redisUrl),
      concurrency: maxBatch,
    });
    this.#worker.on('error', () => {
      // connection errors: BullMQ retries; frames in flight time out at their gateway
    });
  }

  async #process(job: Job<unknown>): Promise<void> {
    const jobId = job.id ?? '';
    let data: EmbedJob;
    try {
      data = parseEmbedJob(job.data);
    } catch (error) {
      // Nothing in it is trusted, its gateway's channel included: its frames time out there.
      this.emit('malformed', { jobId, error: error as ProtocolError });
      return;
    }
    const { gateway, crops, count, deadline, model } = data;
    const channel = resultChannel(this.#queueName, gateway);
    const queueMs = Date.now() - job.timestamp;
    const expired = Date.now() > deadline;
    const refused = !expired && model !== undefined && model !== this.#model;
    let result: EmbedResult;
    if (expired) {
      result = { jobId, ok: false, reason: 'expired', message: 'deadline passed in the queue' };
    } else if (refused) {
      result = {
        jobId,
        ok: false,
        reason: 'model-mismatch',
        message: `the worker serves model ${this.#model.slice(0, 12)}…, the gateway expects ${String(model).slice(0, 12)}…`,
      };
    } else {
      try {
        const embeddings = await Promise.all(unpackCrops(crops, count).map((c) => this.#batcher.submit(c)));
        result = { jobId, ok: true, ...packEmbeddings(embeddings) };
      } catch (error) {
        result = {
          jobId,
          ok: false,
          reason: 'failed',
          message: error instanceof Error ? error.message : String(error),
        };
      }
    }
    this.emit('job', { faces: count, queueMs, expired, refused });
    await this.#publisher.publish(channel, JSON.stringify(result));
  }

  /** Waits until the worker is connected and consuming. */
  waitUntilReady(): Promise<void> {
    return this.#worker.waitUntilReady().then(() => undefined);
  }

  /**
   * Graceful shutdown: stop taking jobs, finish the ones in flight (their batch included), then
   * disconnect. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#worker.close();
      await this.#batcher.close();
      this.#publisher.disconnect();
    })();
    return this.#closing;
  }
}
