import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { VerificationError } from '../errors.ts';
import { FACE_HEIGHT, FACE_PIXELS, FACE_WIDTH } from '../image/preprocess.ts';
import { parseManifest, type ModelManifest } from './manifest.ts';

/** ONNX Runtime execution providers this service knows how to ask for. */
export type ExecutionProvider = 'cpu' | 'cuda' | 'tensorrt';

export interface EmbedderOptions {
  /** Tried in order; ONNX Runtime falls back along the list. @defaultValue ['cpu'] */
  executionProviders?: ExecutionProvider[];
  /**
   * Threads inside one operator; 0 lets ONNX Runtime decide (all cores). Measured with `npm run
   * bench:cpu` on 2 cores, one live session: 49.0 ms of server CPU per analysed frame with 0 against
   * 15.4 ms with 1, at the same latency — a 48-d embedding of a 62×47 crop is too small a run to
   * share, and the pool's threads spin between runs. @defaultValue 1
   */
  intraOpThreads?: number;
  /** Largest batch sent to the model in one run; bigger inputs are split. @defaultValue 256 */
  maxBatch?: number;
}

export const DEFAULT_EMBEDDER_OPTIONS: Required<EmbedderOptions> = {
  executionProviders: ['cpu'],
  intraOpThreads: 1,
  maxBatch: 256,
};

const PROVIDERS = new Set<ExecutionProvider>(['cpu', 'cuda', 'tensorrt']);

/**
 * The Siamese branch as an ONNX Runtime session: normalised 62×47 faces in, embeddings out.
 * `close()` releases the native session; later calls fail with `MODEL_CLOSED`.
 */
export class Embedder {
  readonly manifest: ModelManifest;
  readonly options: Readonly<Required<EmbedderOptions>>;
  #session: ort.InferenceSession | null;
  #running = 0;
  #closing: Promise<void> | null = null;

  private constructor(
    session: ort.InferenceSession,
    manifest: ModelManifest,
    options: Required<EmbedderOptions>,
  ) {
    this.#session = session;
    this.manifest = manifest;
    this.options = options;
  }

  /** Loads `<dir>/manifest.json` and the weights it names, checking the weights' sha256. */
  static async load(modelDir: string, options: EmbedderOptions = {}): Promise<Embedder> {
    const opts = { ...DEFAULT_EMBEDDER_OPTIONS, ...options };
    for (const p of opts.executionProviders) {
      if (!PROVIDERS.has(p)) throw new TypeError(`unknown execution provider: ${String(p)}`);
    }
    if (opts.executionProviders.length === 0) throw new TypeError('executionProviders must not be empty');
    if (!(Number.isInteger(opts.intraOpThreads) && opts.intraOpThreads >= 0)) {
      throw new TypeError('intraOpThreads must be a non-negative integer');
    }
    if (!(Number.isInteger(opts.maxBatch) && opts.maxBatch >= 1)) throw new TypeError('maxBatch must be ≥ 1');

    const manifestPath = path.join(modelDir, 'manifest.json');
    let manifest: ModelManifest;
    let weights: Buffer;
    try {
      manifest = parseManifest(JSON.parse(await readFile(manifestPath, 'utf8')), manifestPath);
      if (manifest.input.shape[2] !== FACE_HEIGHT || manifest.input.shape[3] !== FACE_WIDTH) {
        throw new Error(
          `model expects ${manifest.input.shape[2]}×${manifest.input.shape[3]}, the pipeline makes ${FACE_HEIGHT}×${FACE_WIDTH}`,
        );
      }
      weights = await readFile(path.join(modelDir, manifest.file));
      const digest = createHash('sha256').update(weights).digest('hex');
      if (digest !== manifest.sha256) {
        throw new Error(`sha256 of ${manifest.file} is ${digest}, manifest says ${manifest.sha256}`);
      }
    } catch (cause) {
      throw VerificationError.modelLoadFailed(modelDir, cause);
    }
    return Embedder.#create(weights, manifest, opts, modelDir);
  }

  /**
   * Loads bare ONNX weights without a manifest (evaluation of a freshly trained model, before its
   * threshold exists). The input/output names are read from the graph.
   */
  static async fromOnnxFile(file: string, options: EmbedderOptions = {}): Promise<Embedder> {
    const opts = { ...DEFAULT_EMBEDDER_OPTIONS, ...options };
    let weights: Buffer;
    try {
      weights = await readFile(file);
    } catch (cause) {
      throw VerificationError.modelLoadFailed(file, cause);
    }
    const provisional: ModelManifest = {
      name: path.basename(path.dirname(file)),
      file: path.basename(file),
      sha256: createHash('sha256').update(weights).digest('hex'),
      input: {
        name: '',
        shape: [null, 1, FACE_HEIGHT, FACE_WIDTH],
        dtype: 'float32',
        normalisation: 'x / 255',
      },
      output: { name: '', size: 0, l2Normalised: true },
      distance: 'euclidean',
      threshold: Number.NaN,
      calibration: { type: 'logistic', slope: 0, intercept: 0 },
    };
    return Embedder.#create(weights, provisional, opts, file);
  }

  static async #create(
    weights: Uint8Array,
    manifest: ModelManifest,
    opts: Required<EmbedderOptions>,
    where: string,
  ): Promise<Embedder> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(weights, {
        executionProviders: opts.executionProviders,
        intraOpNumThreads: opts.intraOpThreads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        // With more than one thread, the pool would spin between runs: CPU burnt while waiting.
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
    } catch (cause) {
      throw VerificationError.modelLoadFailed(where, cause);
    }
    const inputName = manifest.input.name || session.inputNames[0];
    const outputName = manifest.output.name || session.outputNames[0];
    if (
      !inputName ||
      !outputName ||
      !session.inputNames.includes(inputName) ||
      !session.outputNames.includes(outputName)
    ) {
      await session.release();
      throw VerificationError.modelLoadFailed(
        where,
        new Error(`graph lacks input ${inputName} or output ${outputName}`),
      );
    }
    const embedder = new Embedder(
      session,
      {
        ...manifest,
        input: { ...manifest.input, name: inputName },
        output: { ...manifest.output, name: outputName },
      },
      opts,
    );
    if (embedder.manifest.output.size === 0) {
      // Probe once to learn the embedding size of a bare model.
      const [probe] = await embedder.embed([new Float32Array(FACE_PIXELS)]);
      (embedder as { manifest: ModelManifest }).manifest = {
        ...embedder.manifest,
        output: { ...embedder.manifest.output, size: probe!.length },
      };
    }
    return embedder;
  }

  get embeddingSize(): number {
    return this.manifest.output.size;
  }

  get closed(): boolean {
    return this.#session === null;
  }

  /** Embeds normalised faces (each 62×47 floats, see `normalizeCrop`), one output per input. */
  async embed(faces: readonly Float32Array[]): Promise<Float32Array[]> {
    if (this.#session === null || this.#closing !== null) throw VerificationError.modelClosed();
    for (const f of faces) {
      if (!(f instanceof Float32Array) || f.length !== FACE_PIXELS) {
        throw new TypeError(`each face must be a Float32Array of ${FACE_PIXELS} values`);
      }
    }
    const out: Float32Array[] = [];
    for (let start = 0; start < faces.length; start += this.options.maxBatch) {
      out.push(...(await this.#run(faces.slice(start, start + this.options.maxBatch))));
    }
    return out;
  }

  async #run(faces: readonly Float32Array[]): Promise<Float32Array[]> {
    const session = this.#session;
    if (session === null) throw VerificationError.modelClosed();
    if (faces.length === 0) return [];
    const batch = new Float32Array(faces.length * FACE_PIXELS);
    faces.forEach((f, i) => batch.set(f, i * FACE_PIXELS));
    const input = new ort.Tensor('float32', batch, [faces.length, 1, FACE_HEIGHT, FACE_WIDTH]);
    this.#running++;
    let output: ort.Tensor | undefined;
    try {
      const result = await session.run({ [this.manifest.input.name]: input });
      output = result[this.manifest.output.name];
      if (output === undefined) throw new Error(`no output named ${this.manifest.output.name}`);
      const size = output.dims[1] ?? 0;
      if (
        output.dims.length !== 2 ||
        output.dims[0] !== faces.length ||
        (this.manifest.output.size && size !== this.manifest.output.size)
      ) {
        throw new Error(`unexpected output shape [${output.dims.join(', ')}]`);
      }
      const data = output.data as Float32Array;
      return faces.map((_, i) => data.slice(i * size, (i + 1) * size));
    } catch (cause) {
      throw VerificationError.inferenceFailed(cause);
    } finally {
      input.dispose();
      output?.dispose();
      this.#running--;
    }
  }

  /** Releases the native session once in-flight runs finish. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      while (this.#running > 0) await new Promise((r) => setTimeout(r, 1));
      const session = this.#session;
      this.#session = null;
      await session?.release();
    })();
    return this.#closing;
  }
}
