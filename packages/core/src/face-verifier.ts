import type { FaceReport, VerifyResult } from '@fv/protocol';
import { HaarDetector, type HaarDetectorOptions } from './detect/haar-detector.ts';
import { VerificationError } from './errors.ts';
import { FaceAligner, alignedCropSpec } from './align/face-aligner.ts';
import { alignFace, extractFace, type FaceCrop } from './face-analyzer.ts';
import { decodeGray, type DecodeOptions } from './image/decode.ts';
import { roundRect } from './image/gray-image.ts';
import { normalizeCrop } from './image/preprocess.ts';
import { Embedder, type EmbedderOptions } from './model/embedder.ts';
import { euclideanDistance, isMatch, similarityFromDistance } from './scoring.ts';

export interface FaceVerifierOptions {
  /** Directory with `manifest.json` and the ONNX weights. */
  modelDir: string;
  detector?: HaarDetectorOptions;
  embedder?: EmbedderOptions;
  decode?: DecodeOptions;
}

/**
 * The seed's Match as a library: two images in, distance / threshold / verdict out, through the
 * production pipeline (decode → Haar → crop → embed → distance).
 */
export class FaceVerifier {
  readonly detector: HaarDetector;
  readonly embedder: Embedder;
  /** The landmark aligner when the model takes aligned crops (siamese-v3 and later), else null. */
  readonly aligner: FaceAligner | null;
  readonly #decode: DecodeOptions;
  #closed = false;

  private constructor(
    detector: HaarDetector,
    embedder: Embedder,
    aligner: FaceAligner | null,
    decode: DecodeOptions,
  ) {
    this.detector = detector;
    this.embedder = embedder;
    this.aligner = aligner;
    this.#decode = decode;
  }

  /** Loads the detector and the model; any failure rejects (start-up must stop on it). */
  static async create(options: FaceVerifierOptions): Promise<FaceVerifier> {
    const embedder = await Embedder.load(options.modelDir, options.embedder);
    let aligner: FaceAligner | null = null;
    try {
      const spec = alignedCropSpec(embedder.manifest['preprocessing']);
      if (spec) aligner = await FaceAligner.load(options.modelDir, spec);
      const detector = await HaarDetector.create(options.detector);
      return new FaceVerifier(detector, embedder, aligner, options.decode ?? {});
    } catch (error) {
      await aligner?.close();
      await embedder.close();
      throw error;
    }
  }

  get threshold(): number {
    return this.embedder.manifest.threshold;
  }

  /** Decodes an upload and finds its face; `NO_FACE` when there is none. */
  async analyze(image: Uint8Array): Promise<FaceCrop & { width: number; height: number }> {
    if (this.#closed) throw VerificationError.modelClosed();
    const gray = await decodeGray(image, this.#decode);
    const face = extractFace(this.detector, gray);
    if (face === null) throw VerificationError.noFace();
    return { ...(await alignFace(this.aligner, gray, face)), width: gray.width, height: gray.height };
  }

  /** Embeds one upload (e.g. a reference photo). */
  async embedImage(image: Uint8Array): Promise<{ embedding: Float32Array; face: FaceReport }> {
    const face = await this.analyze(image);
    const [embedding] = await this.embedder.embed([normalizeCrop(face.crop)]);
    return { embedding: embedding!, face: report(face) };
  }

  async verifyPair(imageA: Uint8Array, imageB: Uint8Array): Promise<VerifyResult> {
    const faceA = await this.analyze(imageA).catch(tagImage('a'));
    const faceB = await this.analyze(imageB).catch(tagImage('b'));
    const [ea, eb] = await this.embedder.embed([normalizeCrop(faceA.crop), normalizeCrop(faceB.crop)]);
    const distance = euclideanDistance(ea!, eb!);
    const { threshold, calibration, name } = this.embedder.manifest;
    return {
      distance,
      threshold,
      matched: isMatch(distance, threshold),
      similarity: similarityFromDistance(distance, calibration),
      faces: { a: report(faceA), b: report(faceB) },
      model: name,
    };
  }

  /** Closes the model and the detector. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.detector.close();
    await this.aligner?.close();
    await this.embedder.close();
  }
}

function report(face: FaceCrop & { width: number; height: number }): FaceReport {
  return {
    count: face.faceCount,
    box: roundRect(face.box),
    width: face.width,
    height: face.height,
  };
}

function tagImage(which: 'a' | 'b'): (error: unknown) => never {
  return (error) => {
    if (error instanceof VerificationError) {
      throw new VerificationError(error.code, `Image ${which}: ${error.message}`, { cause: error.cause });
    }
    throw error;
  };
}
