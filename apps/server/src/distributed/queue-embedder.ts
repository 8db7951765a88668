import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { redisOptionsFromUrl } from './redis-options.ts';
import { VerificationError } from '@fv/core';
import { parseEmbedResult, type EmbedJob, type EmbedResult, type ProtocolError } from '@fv/protocol';
import { packCrops, resultChannel, unpackEmbeddings } from './messages.ts';

export interface QueueEmbedderOptions {
  redisUrl: string;
  /** BullMQ queue name (and Redis key prefix of the result channels). @defaultValue 'fv-embed' */
  queueName?: string;
  /** A frame's embedding older than this is worthless: the job carries it as a deadline. @defaultValue 1000 ms */
  timeoutMs?: number;
  /** Identifies this gateway's result channel. @defaultValue a random id */
  gatewayId?: string;
  /**
   * Jobs waiting in the queue beyond which new frames are refused at once (`QUEUE_FULL`) instead
   * of piling up in Redis while no worker keeps up. @defaultValue 5000
   */
  maxWaiting?: number;
  /**
   * sha256 of the model weights this gateway's threshold and references belong to; every job
   * carries it and workers serving other weights refuse the job (`INFERENCE_FAILED`,
   * "model-mismatch"). Absent: jobs name no model and any worker embeds them.
   */
  model?: string;
}

/** The options with their defaults filled in (`model` stays optional). */
type ResolvedOptions = Required<Omit<QueueEmbedderOptions, 'model'>> & QueueEmbedderOptions;

export interface QueueEmbedderEvents {
  /** A message on the result channel that is no `EmbedResult`: dropped (its frames time out). */
  malformed: [{ error: ProtocolError }];
}

/**
 * The gateway side of distributed mode: each call enqueues one BullMQ job holding a micro-batch
 * of crops (the FramePipeline's batcher collects them), and resolves when the worker's result
 * arrives on this gateway's own pub/sub channel, or rejects at the deadline. Jobs are never retried
 * (a late frame is worthless) and removed from Redis on completion or failure. Results are parsed
 * (`parseEmbedResult`); a malformed one is counted, reported and dropped.
 *
 * @fires malformed — a result that failed to parse
 */
export class QueueEmbedder extends EventEmitter<QueueEmbedderEvents> {
  readonly gatewayId: string;
  readonly queueName: string;
  readonly timeoutMs: number;
  readonly maxWaiting: number;
  readonly model: string | undefined;
  /** Queue depth from the latest poll (every 500 ms). */
  depth = 0;
  /** Messages on the result channel that were no result, so far. */
  malformedResults = 0;
  readonly #depthTimer: ReturnType<typeof setInterval>;
  readonly #queue: Queue<EmbedJob>;
  readonly #subscriber: Redis;
  readonly #pending = new Map<
    string,
    { resolve: (r: EmbedResult) => void; timer: ReturnType<typeof setTimeout> }
  >();
  #closed = false;

  private constructor(options: ResolvedOptions, subscriber: Redis) {
    super();
    this.gatewayId = options.gatewayId;
    this.queueName = options.queueName;
    this.timeoutMs = options.timeoutMs;
    this.maxWaiting = options.maxWaiting;
    this.model = options.model;
    this.#subscriber = subscriber;
    this.#queue = new Queue<EmbedJob>(options.queueName, {
      connection: redisOptionsFromUrl(options.redisUrl),
      defaultJobOptions: { attempts: 1, removeOnComplete: true, removeOnFail: true },
    });
    subscriber.on('message', (_channel: string, text: string) => {
      let result: EmbedResult;
      try {
        result = parseEmbedResult(text);
      } catch (error) {
        this.malformedResults++;
        this.emit('malformed', { error: error as ProtocolError });
        return;
      }
      const waiter = this.#pending.get(result.jobId);
      if (!waiter) return; // already timed out
      clearTimeout(waiter.timer);
      this.#pending.delete(result.jobId);
      waiter.resolve(result);
    });
    this.#depthTimer = setInterval(() => {
      this.#queue.getWaitingCount().then(
        (n) => (this.depth = n),
        () => {},
      );
    }, 500);
    this.#depthTimer.unref();
  }

  static async create(options: QueueEmbedderOptions): Promise<QueueEmbedder> {
    const opts: ResolvedOptions = {
      queueName: 'fv-embed',
      timeoutMs: 1000,
      gatewayId: randomUUID(),
      maxWaiting: 5000,
      ...options,
    };
    // Reconnects forever: a Redis restart must not end the gateway.
    const subscriber = new Redis(opts.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
    subscriber.on('error', () => {
      // ioredis reconnects by itself; the job deadlines surface the outage to sessions
    });
    await subscriber.connect();
    await subscriber.subscribe(resultChannel(opts.queueName, opts.gatewayId));
    return new QueueEmbedder(opts, subscriber);
  }

  /** Embeds crops through the queue; rejects with INFERENCE_FAILED on timeout or worker failure. */
  async embed(crops: Uint8Array[]): Promise<Float32Array[]> {
    if (this.#closed) throw VerificationError.modelClosed();
    if (crops.length === 0) return [];
    if (this.depth > this.maxWaiting) {
      throw new VerificationError(
        'QUEUE_FULL',
        `${this.depth} embedding jobs are waiting; the workers are behind.`,
      );
    }
    const jobId = randomUUID();
    const deadline = Date.now() + this.timeoutMs;
    const result = new Promise<EmbedResult>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(jobId);
        resolve({ jobId, ok: false, reason: 'expired', message: `no result within ${this.timeoutMs} ms` });
      }, this.timeoutMs);
      this.#pending.set(jobId, { resolve, timer });
    });
    try {
      await this.#queue.add(
        'embed',
        {
          gateway: this.gatewayId,
          crops: packCrops(crops),
          count: crops.length,
          deadline,
          ...(this.model !== undefined && { model: this.model }),
        },
        { jobId },
      );
    } catch (cause) {
      const waiter = this.#pending.get(jobId);
      if (waiter) clearTimeout(waiter.timer);
      this.#pending.delete(jobId);
      throw VerificationError.inferenceFailed(cause);
    }
    const outcome = await result;
    if (!outcome.ok)
      throw VerificationError.inferenceFailed(new Error(`${outcome.reason}: ${outcome.message}`));
    return unpackEmbeddings(outcome.embeddings, outcome.size, crops.length);
  }

  /** Fails pending calls, closes the queue and the subscriber. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#depthTimer);
    for (const [jobId, waiter] of this.#pending) {
      clearTimeout(waiter.timer);
      waiter.resolve({ jobId, ok: false, reason: 'failed', message: 'gateway closing' });
    }
    this.#pending.clear();
    await this.#queue.close();
    this.#subscriber.disconnect();
  }
}
