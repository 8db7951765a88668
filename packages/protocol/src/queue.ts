import { Type, type Static } from '@sinclair/typebox';
import { checker, parseWith, type Checker } from './live.ts';

/**
 * Distributed mode's queue: a gateway adds an `EmbedJob` to the BullMQ queue (Redis); an inference
 * worker answers with an `EmbedResult` on the gateway's own pub/sub channel. Gateways and workers
 * of different releases can share a queue during a rolling update, so these shapes change only
 * compatibly (a new field is optional, as `model` is).
 */
const MAX_CROPS_PER_JOB = 1024;
const MAX_CROP_BYTES = 4096;
/** Characters of the base64 form of `bytes` bytes. */
const base64Length = (bytes: number): number => Math.ceil(bytes / 3) * 4;

export const QUEUE_LIMITS = {
  /** Crops in one job at most (the largest `BATCH_MAX`). */
  maxCropsPerJob: MAX_CROPS_PER_JOB,
  /**
   * Bytes of one crop at most. A crop is 62×47 = 2914 bytes today; the exact size is checked when
   * the crops are unpacked, against the model's.
   */
  maxCropBytes: MAX_CROP_BYTES,
  /** Largest job as JSON text, in bytes: its crops in base64, and the other fields. */
  maxJobBytes: base64Length(MAX_CROPS_PER_JOB * MAX_CROP_BYTES) + 1024,
  /** Largest result text a gateway parses, in bytes (1024 embeddings of 512 floats, in base64). */
  maxResultBytes: 16 * 1024 * 1024,
} as const;

const strict = { additionalProperties: false } as const;
const JobIdSchema = Type.String({ maxLength: 128 });

/** One BullMQ job: the crops a gateway collected within a few ms (a gateway-side micro-batch). */
export const EmbedJobSchema = Type.Object(
  {
    /** Gateway that owns the sessions; results go to its channel only. */
    gateway: Type.String({ minLength: 1, maxLength: 256 }),
    /** `count` crops of 62×47 bytes, concatenated, base64. */
    crops: Type.String({
      minLength: 1,
      maxLength: base64Length(MAX_CROPS_PER_JOB * MAX_CROP_BYTES),
    }),
    count: Type.Integer({ minimum: 1, maximum: QUEUE_LIMITS.maxCropsPerJob }),
    /** Epoch ms after which the result is worthless; workers drop the job. */
    deadline: Type.Number(),
    /**
     * sha256 of the model weights the gateway's threshold and enrolled references belong to: a
     * worker serving other weights refuses the job instead of returning embeddings from another
     * space. Absent: any model (jobs from gateways that predate the field).
     */
    model: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  strict,
);
export type EmbedJob = Static<typeof EmbedJobSchema>;

/** The job's embeddings, in its crops' order. */
export const EmbedDoneSchema = Type.Object(
  {
    jobId: JobIdSchema,
    ok: Type.Literal(true),
    /** `count` float32 vectors of `size`, concatenated (little-endian), base64. */
    embeddings: Type.String(),
    size: Type.Integer({ minimum: 0 }),
  },
  strict,
);
/** The job was not embedded: its deadline passed, the model failed, or it named other weights. */
export const EmbedFailedSchema = Type.Object(
  {
    jobId: JobIdSchema,
    ok: Type.Literal(false),
    reason: Type.Union([Type.Literal('expired'), Type.Literal('failed'), Type.Literal('model-mismatch')]),
    message: Type.String(),
  },
  strict,
);
/**
 * Published on the gateway's channel when a job is done (or dropped). Told apart by `ok`, not
 * `type`: this is the shape gateways and workers already exchange.
 */
export const EmbedResultSchema = Type.Union([EmbedDoneSchema, EmbedFailedSchema]);
export type EmbedResult = Static<typeof EmbedResultSchema>;

let checkers: { job: Checker; result: Checker } | null = null;
const checks = (): { job: Checker; result: Checker } =>
  (checkers ??= { job: checker(EmbedJobSchema), result: checker(EmbedResultSchema) });
const never = (): boolean => false;

/** Parses a job's data as a worker takes it from the queue; throws `ProtocolError` (`BAD_MESSAGE`). */
export function parseEmbedJob(raw: unknown): EmbedJob {
  return parseWith<typeof EmbedJobSchema>(checks().job, raw, 'embed job', QUEUE_LIMITS.maxJobBytes, never);
}

/** Parses a result as a gateway receives it (JSON text); throws `ProtocolError` (`BAD_MESSAGE`). */
export function parseEmbedResult(raw: unknown): EmbedResult {
  return parseWith<typeof EmbedResultSchema>(
    checks().result,
    raw,
    'embed result',
    QUEUE_LIMITS.maxResultBytes,
    never,
  );
}
