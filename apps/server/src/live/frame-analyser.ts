import type { FaceFeatures, GrayImage, QualityFlag, Rect } from '@fv/core';

/** One analysed frame: what the face tells, and how long each stage took. */
export interface FrameAnalysis {
  readonly faceCount: number;
  readonly box: Rect | null;
  readonly quality: QualityFlag[];
  /** Embedding of the subject's face (the detector's first), or null without a face. */
  readonly embedding: Float32Array | null;
  /** The subject's face-action features (for liveness), or null without a face or landmarks. */
  readonly features: FaceFeatures | null;
  readonly detectMs: number;
  readonly embedMs: number;
}

/**
 * What a live session needs to turn frames into embeddings: one stream's view of the pipeline
 * (`FramePipeline.openStream()`), which remembers the stream's face between frames. Tests give a
 * session a stub.
 */
export interface FrameAnalyser {
  analyse(frame: GrayImage): Promise<FrameAnalysis>;
  /** Forgets the stream (its tracker). Idempotent. */
  close(): void;
}
