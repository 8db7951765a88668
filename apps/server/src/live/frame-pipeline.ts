import {
  DynamicBatcher,
  assessQuality,
  extractFace,
  FaceTracker,
  normalizeCrop,
  type BatchReport,
  type DynamicBatcherOptions,
  type Embedder,
  type GrayImage,
  type HaarDetector,
  type QualityFlag,
  type Rect,
} from '@fv/core';

export interface FrameAnalysis {
  readonly faceCount: number;
  readonly box: Rect | null;
  readonly quality: QualityFlag[];
  /** Embedding of the largest face, or null without a face. */
  readonly embedding: Float32Array | null;
  readonly detectMs: number;
  readonly embedMs: number;
}

/**
 * Shared by all sessions of a process: detection on the caller's turn, embedding through one
 * dynamic batcher so faces from many sessions share model runs.
 *
 * @fires batch — forwarded from the batcher
 */
export class FramePipeline {
  readonly batcher: DynamicBatcher<Float32Array, Float32Array>;
  readonly #detector: HaarDetector;

  constructor(detector: HaarDetector, embedder: Embedder, batching: DynamicBatcherOptions = {}) {
    this.#detector = detector;
    this.batcher = new DynamicBatcher((faces) => embedder.embed(faces), batching);
  }

  onBatch(listener: (report: BatchReport) => void): void {
    this.batcher.on('batch', listener);
  }

  /** A detector with memory for one stream (ROI search near the last face). */
  createTracker(): FaceTracker {
    return new FaceTracker(this.#detector);
  }

  async analyze(frame: GrayImage, tracker?: FaceTracker): Promise<FrameAnalysis> {
    const t0 = performance.now();
    const face = extractFace(tracker ?? this.#detector, frame);
    const detectMs = performance.now() - t0;
    if (face === null) return { faceCount: 0, box: null, quality: [], embedding: null, detectMs, embedMs: 0 };
    const t1 = performance.now();
    const embedding = await this.batcher.submit(normalizeCrop(face.crop));
    return {
      faceCount: face.faceCount,
      box: face.box,
      quality: assessQuality(face.crop, face.box, frame),
      embedding,
      detectMs,
      embedMs: performance.now() - t1,
    };
  }

  close(): Promise<void> {
    return this.batcher.close();
  }
}
