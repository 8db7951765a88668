import { randomUUID } from 'node:crypto';
import {
  DynamicBatcher,
  FaceTracker,
  analyseFrame,
  normalizeCrop,
  type AnalysedFrame,
  type BatchReport,
  type DynamicBatcherOptions,
  type Embedder,
  type FaceAligner,
  type HaarDetector,
} from '@fv/core';
import type { DetectPool } from './detect-pool.ts';
import type { FrameAnalyser, FrameAnalysis } from './frame-analyser.ts';

/** Turns a batch of 62×47 crops into embeddings: the local model, or the queue to workers. */
export type CropEmbedder = (crops: Uint8Array[]) => Promise<Float32Array[]>;

/** The embedded mode's crop embedder: normalise and run the in-process model. */
export function localCropEmbedder(embedder: Embedder): CropEmbedder {
  return (crops) => embedder.embed(crops.map(normalizeCrop));
}

/**
 * Shared by all sessions of a process: core's `analyseFrame` (detect → align → quality; on worker
 * threads when a pool is given, else on the caller's turn), then embedding through one dynamic
 * batcher so faces from many sessions share model runs (in-process) or queue jobs (distributed
 * mode).
 */
export class FramePipeline {
  readonly batcher: DynamicBatcher<Uint8Array, Float32Array>;
  readonly #detector: HaarDetector;
  readonly #pool: DetectPool | null;
  readonly #aligner: FaceAligner | null;
  /** Frames in detection: each will bring the batcher a crop (or none) soon. */
  #detecting = 0;

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
    // A crop waits for company only while other frames are still in detection: a lone session's
    // crop is embedded at once instead of `maxWaitMs` later.
    this.batcher = new DynamicBatcher(process, { ...batching, incoming: () => this.#detecting });
  }

  onBatch(listener: (report: BatchReport) => void): void {
    this.batcher.on('batch', listener);
  }

  async #embed(face: AnalysedFrame): Promise<FrameAnalysis> {
    const { detectMs } = face;
    if (face.crop === null || face.box === null) {
      // One frame fewer on its way to the batcher: a crop waiting for it need not.
      this.batcher.reconsider();
      return { faceCount: 0, box: null, quality: [], embedding: null, features: null, detectMs, embedMs: 0 };
    }
    const t1 = performance.now();
    const embedding = await this.batcher.submit(face.crop);
    return {
      faceCount: face.faceCount,
      box: face.box,
      quality: face.quality,
      embedding,
      features: face.features,
      detectMs,
      embedMs: performance.now() - t1,
    };
  }

  /** Counts a frame in detection until its analysis settles (a failed one no longer comes either). */
  async #detected(analysis: Promise<AnalysedFrame>): Promise<AnalysedFrame> {
    this.#detecting++;
    let face: AnalysedFrame;
    try {
      face = await analysis;
    } catch (error) {
      this.#detecting--;
      this.batcher.reconsider();
      throw error;
    }
    this.#detecting--;
    return face;
  }

  /** A stream with its own face tracker (ROI search near the last face). */
  openStream(): FrameAnalyser {
    const pool = this.#pool;
    if (pool !== null) {
      const id = randomUUID();
      return {
        analyse: async (frame) => this.#embed(await this.#detected(pool.detect(id, frame))),
        close: () => pool.release(id),
      };
    }
    const tracker = new FaceTracker(this.#detector);
    return {
      analyse: async (frame) =>
        this.#embed(await this.#detected(analyseFrame(frame, tracker, this.#aligner))),
      close: () => tracker.reset(),
    };
  }

  /** Drains the batcher and stops the detection workers. */
  async close(): Promise<void> {
    await this.batcher.close();
    await this.#pool?.close();
  }
}
