import type { FaceAligner } from './align/face-aligner.ts';
import type { Detection } from './detect/haar-detector.ts';
import type { GrayImage, Rect } from './image/gray-image.ts';
import { cropFace, fallbackFaceBox } from './image/preprocess.ts';
import { assessQuality, type QualityFlag } from './image/quality.ts';
import { faceFeatures, type FaceFeatures } from './liveness/face-actions.ts';

/** The face that will be embedded, and what the detector saw. */
export interface FaceCrop {
  /** 62×47 grayscale bytes, row-major. */
  readonly crop: Uint8Array;
  /**
   * The box the crop was cut around: the subject's face (the detector's first, by default the one
   * nearest the image centre; see `HaarDetectorOptions.subject`), or the centred fallback.
   */
  readonly box: Rect;
  /** Whether the box came from the detector (false: centred fallback). */
  readonly detected: boolean;
  /** Faces the detector found. */
  readonly faceCount: number;
  readonly cascadeMs: number;
}

/**
 * detect → the subject's face (the detector's first: by default the one nearest the image centre,
 * see `HaarDetectorOptions.subject`) → crop. `detector` is a {@link HaarDetector} (full search) or
 * a per-stream `FaceTracker` (region-of-interest search between full searches). With `fallback`
 * (the evaluation protocol and training data), an image without a detected face is cropped around
 * the centre instead of being rejected.
 */
export function extractFace(
  detector: { detect(image: GrayImage): Detection & { faceCount?: number } },
  image: GrayImage,
  { fallback = false } = {},
): FaceCrop | null {
  const found = findFace(detector, image, { fallback });
  return found && { ...found, crop: cropFace(image, found.box) };
}

/** {@link extractFace} without cutting the box crop (a caller that aligns cuts its own). */
function findFace(
  detector: { detect(image: GrayImage): Detection & { faceCount?: number } },
  image: GrayImage,
  { fallback = false } = {},
): Omit<FaceCrop, 'crop'> | null {
  const detection = detector.detect(image);
  const subject = detection.faces[0];
  if (subject === undefined && !fallback) return null;
  return {
    box: subject ?? fallbackFaceBox(image),
    detected: subject !== undefined,
    faceCount: detection.faceCount ?? detection.faces.length,
    cascadeMs: detection.cascadeMs,
  };
}

/**
 * The crop a model that takes aligned crops needs (see {@link FaceAligner}): the same face, its
 * crop re-cut on its landmarks. Without an aligner (box-crop models) the face is returned as is.
 */
export async function alignFace<F extends FaceCrop>(
  aligner: FaceAligner | null | undefined,
  image: GrayImage,
  face: F,
): Promise<F> {
  if (!aligner) return face;
  const [aligned] = await aligner.align(image, [face.box]);
  return { ...face, crop: aligned!.crop };
}

/** What one live frame shows: the subject's crop, ready to embed, or no face. */
export interface AnalysedFrame {
  /** Faces the detector (or tracker) counts; 0 without a face. */
  readonly faceCount: number;
  /** The subject's box, or null without a face. */
  readonly box: Rect | null;
  /** 62×47 grayscale crop to embed (aligned when an aligner is given), or null without a face. */
  readonly crop: Uint8Array | null;
  /** Why the frame may score poorly (empty without a face). */
  readonly quality: QualityFlag[];
  /**
   * The subject's face-action features (liveness), from the landmarks alignment already found; null
   * without a face or without an aligner (box-crop models have no landmarks).
   */
  readonly features: FaceFeatures | null;
  /** The 68 landmarks the features come from (image pixels, `[x0,y0,…]`), or null like them. */
  readonly landmarks: Float32Array | null;
  /** Detection and alignment time, ms (quality flags excluded). */
  readonly detectMs: number;
}

/**
 * A live frame's detect → align → quality, wherever it runs (a detect worker or the caller's
 * turn). `tracker` is the stream's own `FaceTracker`, so each stream keeps its face between frames
 * (the alignment's landmarks tell it where to look next); no face is a result (`faceCount: 0`),
 * not an error.
 */
export async function analyseFrame(
  image: GrayImage,
  tracker: {
    detect(image: GrayImage, options?: { recheck?: boolean }): Detection & { faceCount?: number };
    /**
     * Told the subject's landmarks and crop, so the next frame is searched where they predict
     * (tracking first); true asks for this frame to be detected again (`recheck`).
     */
    follow?(landmarks: ArrayLike<number>, crop: Uint8Array, aligned: boolean): boolean;
  },
  aligner: FaceAligner | null | undefined,
): Promise<AnalysedFrame> {
  const t0 = performance.now();
  let found = findFace(tracker, image);
  if (!found) return noFace(t0);
  let crop: Uint8Array;
  let landmarks: Float32Array | null = null;
  if (aligner) {
    let [aligned] = await aligner.align(image, [found.box]);
    if (tracker.follow?.(aligned!.landmarks, aligned!.crop, aligned!.aligned)) {
      // A tracked face whose fit degraded: the cascade looks at this frame again.
      found = findFace({ detect: (frame) => tracker.detect(frame, { recheck: true }) }, image);
      if (!found) return noFace(t0);
      [aligned] = await aligner.align(image, [found.box]);
      tracker.follow(aligned!.landmarks, aligned!.crop, aligned!.aligned);
    }
    crop = aligned!.crop;
    landmarks = aligned!.landmarks;
  } else {
    crop = cropFace(image, found.box);
  }
  const detectMs = performance.now() - t0;
  return {
    faceCount: found.faceCount,
    box: found.box,
    crop,
    quality: assessQuality(crop, found.box, image),
    features: landmarks && faceFeatures(landmarks),
    landmarks,
    detectMs,
  };
}

const noFace = (t0: number): AnalysedFrame => ({
  faceCount: 0,
  box: null,
  crop: null,
  quality: [],
  features: null,
  landmarks: null,
  detectMs: performance.now() - t0,
});
