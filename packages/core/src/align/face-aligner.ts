// Landmark alignment of the 62×47 crop: the Haar box (still the first stage) picks a square region,
// face-api's 68-point landmark net (converted to ONNX, models/<name>/landmarks.onnx) finds the brows,
// eyes, nose and mouth in it, and a similarity transform puts those points on a fixed template of
// the crop. Training (`prepare --align`) and serving cut their crops through this same code.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { VerificationError } from '../errors.ts';
import type { GrayImage, Rect } from '../image/gray-image.ts';
import { FACE_HEIGHT, FACE_WIDTH, cropFace, faceCropRegion } from '../image/preprocess.ts';
import {
  boxTransform,
  fitSimilarity,
  meanFaceTemplate,
  similarityScale,
  squareAround,
  templatePoints,
  warpSimilarity,
  type Similarity,
} from './similarity.ts';

/** Side of the landmark net's square input. */
export const LANDMARK_NET_INPUT = 112;
const MAX_SAMPLES = 4;

/** `preprocessing.crop` of a manifest whose model takes aligned crops. */
export interface AlignedCropSpec {
  readonly mode: 'aligned';
  readonly landmarks: {
    /** ONNX landmark net, relative to the model directory. */
    readonly file: string;
    readonly sha256: string;
    /** The landmark net's input region: a square `scale`× the Haar box width, centre moved down `shift`× its height. */
    readonly region: { readonly scale: number; readonly shift: number };
  };
  /**
   * Where dlib's mean face (unit square) lands in the 47×62 crop: `p · scale + (dx, dy)` pixels.
   * Only landmarks `points[0]`–`points[1]` (68-point indices, inclusive) are fitted onto it.
   */
  readonly template: {
    readonly scale: number;
    readonly dx: number;
    readonly dy: number;
    readonly points: readonly [number, number];
  };
  /**
   * When the landmark fit's scale differs from the Haar box's by more than this factor, the landmarks
   * are not trusted and the crop is cut around the box as unaligned models do.
   */
  readonly maxScaleRatio: number;
}

/**
 * The aligned crop of siamese-v3 and later.
 * - Landmark region: a square 1.3× the Haar box, moved down 0.1× its height. At 1.5× (what the
 *   teacher's chips used on LFW) the region of a face filling a 320×240 webcam frame runs far past
 *   the frame, and on the shared clips the net then lost the face whenever the mouth opened; at
 *   1.3× every frame was right, and on LFW the rigid points moved by a median 1.25% of the box width.
 * - Template: fitted on LFW (every 12th person, Haar boxes) so that aligned crops frame the face as
 *   the box crop does on average: median 41.8 px per unit of dlib's mean face, top offset 12.3 px,
 *   centred horizontally in the 47-pixel width.
 * - Only the rigid points are fitted, nose and eyes (27–47): with the mouth and brows in the fit, an
 *   open mouth shrank the face in the crop (seen on the clips).
 */
export function defaultAlignedCrop(landmarksFile: string, sha256: string): AlignedCropSpec {
  return {
    mode: 'aligned',
    landmarks: { file: landmarksFile, sha256, region: { scale: 1.3, shift: 0.1 } },
    template: { scale: 41.8, dx: 3.01, dy: 12.3, points: [27, 47] },
    maxScaleRatio: 1.6,
  };
}

/** The crop spec of a manifest: aligned crops, or absent for the original box crop. */
export function alignedCropSpec(preprocessing: unknown): AlignedCropSpec | undefined {
  const crop = (preprocessing as { crop?: { mode?: unknown } } | undefined)?.crop;
  if (crop?.mode === undefined || crop.mode === 'box') return undefined;
  const spec = crop as Partial<AlignedCropSpec>;
  const finite = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
  if (
    spec.mode !== 'aligned' ||
    typeof spec.landmarks?.file !== 'string' ||
    !/^[0-9a-f]{64}$/.test(spec.landmarks.sha256 ?? '') ||
    !finite(spec.landmarks.region?.scale) ||
    !finite(spec.landmarks.region?.shift) ||
    !finite(spec.template?.scale) ||
    !finite(spec.template?.dx) ||
    !finite(spec.template?.dy) ||
    !Array.isArray(spec.template?.points) ||
    !Number.isInteger(spec.template.points[0]) ||
    !Number.isInteger(spec.template.points[1]) ||
    !(
      spec.template.points[0] >= 17 &&
      spec.template.points[1] <= 67 &&
      spec.template.points[0] < spec.template.points[1]
    ) ||
    !finite(spec.maxScaleRatio)
  ) {
    throw new TypeError('preprocessing.crop must be {mode: "aligned", landmarks, template, maxScaleRatio}');
  }
  return spec as AlignedCropSpec;
}

export interface AlignedFace {
  /** 62×47 grayscale bytes, row-major. */
  readonly crop: Uint8Array;
  /** 68 landmarks in image pixels, `[x0,y0,…]`. */
  readonly landmarks: Float32Array;
  /** False when the landmarks disagreed with the box and the box crop was used instead. */
  readonly aligned: boolean;
}

/** Taps per axis for a warp at `scale` output pixels per image pixel. */
function samplesFor(scale: number): number {
  return Math.min(MAX_SAMPLES, Math.max(1, Math.ceil(1 / scale - 1e-9)));
}

export class FaceAligner {
  readonly spec: AlignedCropSpec;
  /** The model directory the landmark net was loaded from (`spec.landmarks.file` is relative to it). */
  readonly modelDir: string;
  readonly #session: ort.InferenceSession;
  readonly #template: Float64Array;

  private constructor(session: ort.InferenceSession, spec: AlignedCropSpec, modelDir: string) {
    this.#session = session;
    this.spec = spec;
    this.modelDir = modelDir;
    const [first, last] = spec.template.points;
    this.#template = meanFaceTemplate(spec.template.scale, spec.template.dx, spec.template.dy, first, last);
  }

  /** Loads the spec's landmark net from `modelDir`, checking its sha256. */
  static async load(modelDir: string, spec: AlignedCropSpec, { threads = 1 } = {}): Promise<FaceAligner> {
    const file = path.resolve(modelDir, spec.landmarks.file);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (cause) {
      throw VerificationError.modelLoadFailed(file, cause, 'landmark net');
    }
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== spec.landmarks.sha256) {
      throw VerificationError.modelLoadFailed(
        file,
        new Error(`sha256 ${sha} ≠ manifest ${spec.landmarks.sha256}`),
        'landmark net',
      );
    }
    try {
      const session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
      return new FaceAligner(session, spec, modelDir);
    } catch (cause) {
      throw VerificationError.modelLoadFailed(file, cause, 'landmark net');
    }
  }

  /** 68 landmarks (image pixels) for each box, one batched run of the landmark net. */
  async landmarks(image: GrayImage, boxes: readonly Rect[]): Promise<Float32Array[]> {
    if (boxes.length === 0) return [];
    const side = LANDMARK_NET_INPUT;
    const regions = boxes.map((b) =>
      squareAround(b, this.spec.landmarks.region.scale, this.spec.landmarks.region.shift),
    );
    const chip = new Uint8Array(side * side);
    const input = new Float32Array(boxes.length * side * side);
    regions.forEach((r, i) => {
      const t = boxTransform(r, side);
      warpSimilarity(image, t, side, side, 1, chip, 0, samplesFor(t.a));
      input.set(chip, i * side * side);
    });
    const result = await this.#session.run({
      [this.#session.inputNames[0]!]: new ort.Tensor('float32', input, [boxes.length, 1, side, side]),
    });
    const rel = result[this.#session.outputNames[0]!]!.data as Float32Array;
    return regions.map((r, i) => {
      const out = new Float32Array(136);
      for (let k = 0; k < 68; k++) {
        out[2 * k] = r.x + rel[i * 136 + 2 * k]! * r.width;
        out[2 * k + 1] = r.y + rel[i * 136 + 2 * k + 1]! * r.height;
      }
      return out;
    });
  }

  /** The image → crop transform for a face's landmarks. */
  transformFor(landmarks: ArrayLike<number>): Similarity {
    return fitSimilarity(templatePoints(landmarks, ...this.spec.template.points), this.#template);
  }

  /** Aligned 62×47 crops for the faces in `boxes` of `image`. */
  async align(image: GrayImage, boxes: readonly Rect[]): Promise<AlignedFace[]> {
    const all = await this.landmarks(image, boxes);
    return all.map((landmarks, i) => {
      const t = this.transformFor(landmarks);
      const scale = similarityScale(t);
      const boxScale = FACE_WIDTH / faceCropRegion(boxes[i]!).width;
      const ratio = scale / boxScale;
      if (!(ratio < this.spec.maxScaleRatio && ratio > 1 / this.spec.maxScaleRatio)) {
        return { crop: cropFace(image, boxes[i]!), landmarks, aligned: false };
      }
      const crop = warpSimilarity(image, t, FACE_WIDTH, FACE_HEIGHT, 1, undefined, 0, samplesFor(scale));
      return { crop, landmarks, aligned: true };
    });
  }

  async close(): Promise<void> {
    await this.#session.release();
  }
}
