import { randomUUID } from 'node:crypto';
import {
  DynamicBatcher,
  FaceTracker,
  alignFace,
  assessQuality,
  extractFace,
  normalizeCrop,
  type BatchReport,
  type DynamicBatcherOptions,
  type Embedder,
  type FaceAligner,
  type GrayImage,
  type HaarDetector,
  type QualityFlag,
  type Rect,
} from '@fv/core';
import type { DetectPool } from './detect-pool.ts';

export interface FrameAnalysis {
  readonly faceCount: number;
  readonly box: Rect | null;
  readonly quality: QualityFlag[];
  /** Embedding of the subject's face (the detector's first), or null without a face. */
  readonly embedding: Float32Array | null;
  readonly detectMs: number;
  readonly embedMs: number;
}

/** One stream's view of the pipeline: it remembers the stream's face between frames. */
export interface FrameStream {
  analyze(frame: GrayImage): Promise<FrameAnalysis>;
  close(): void;
}

/** Turns a batch of 62×47 crops into embeddings: the local model, or the queue to workers. */
export type CropEmbedder = (crops: Uint8Array[]) => Promise<Float32Array[]>;

/** The embedded mode's crop embedder: normalise and run the in-process model. */
export function localCropEmbedder(embedder: Embedder): CropEmbedder {
  return (crops) => embedder.embed(crops.map(normalizeCrop));
}

/**
 * Shared by all sessions of a process: detection (on worker threads when a pool is given, else on
 * the caller's turn), then embedding through one dynamic batcher so faces from many sessions share
 * model runs (in-process) or queue jobs (distributed mode).
 */
export class FramePipeline {
  readonly batcher: DynamicBatcher<Uint8Array, Float32Array>;
  readonly #detector: HaarDetector;
  readonly #pool: DetectPool | null;
  readonly #aligner: FaceAligner | null;

  /**
   * `aligner`: the model's landmark aligner for detection on the caller's turn (a pool's workers
   * load their own).
   */
  constructor(
    detector: HaarDetector,
    embed: Embedder | CropEmbedder,
    batching: DynamicBatcherOptions = {},
    pool: DetectPool | null = null,
    aligner: FaceAligner | null = null,
  ) {
    this.#detector = detector;
    this.#pool = pool;
    this.#aligner = aligner;
    const process = typeof embed === 'function' ? embed : localCropEmbedder(embed);
    this.batcher = new DynamicBatcher(process, batching);
  }

  onBatch(listener: (report: BatchReport) => void): void {
    this.batcher.on('batch', listener);
  }

  async #embed(
    found: { faceCount: number; box: Rect | null; crop: Uint8Array | null; quality: QualityFlag[] },
    detectMs: number,
  ): Promise<FrameAnalysis> {
    if (found.crop === null || found.box === null) {
      return { faceCount: 0, box: null, quality: [], embedding: null, detectMs, embedMs: 0 };
    }
    const t1 = performance.now();
    const embedding = await this.batcher.submit(found.crop);
    return {
      faceCount: found.faceCount,
      box: found.box,
      quality: found.quality,
      embedding,
      detectMs,
      embedMs: performance.now() - t1,
    };
  }

  /** A stream with its own face tracker (ROI search near the last face). */
  openStream(): FrameStream {
    const pool = this.#pool;
    if (pool !== null) {
      const id = randomUUID();
      return {
        analyze: async (frame) => {
          const found = await pool.detect(id, frame);
          return this.#embed(found, found.detectMs);
        },
        close: () => pool.release(id),
      };
    }
    const tracker = new FaceTracker(this.#detector);
    return {
      analyze: async (frame) => {
        const t0 = performance.now();
        const found = extractFace(tracker, frame);
        const face = found && (await alignFace(this.#aligner, frame, found));
        const detectMs = performance.now() - t0;
        return this.#embed(
          face
            ? {
                faceCount: face.faceCount,
                box: face.box,
                crop: face.crop,
                quality: assessQuality(face.crop, face.box, frame),
              }
            : { faceCount: 0, box: null, crop: null, quality: [] },
          detectMs,
        );
      },
      close: () => tracker.reset(),
    };
  }

  /** Drains the batcher and stops the detection workers. */
  async close(): Promise<void> {
    await this.batcher.close();
    await this.#pool?.close();
  }
}
