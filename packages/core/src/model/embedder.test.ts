import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MODEL_DIR } from '../../../../tests/support/shared-data.ts';
import { VerificationError } from '../errors.ts';
import { FACE_PIXELS } from '../image/preprocess.ts';
import { Embedder } from './embedder.ts';

const distance = (a: Float32Array, b: Float32Array): number => Math.hypot(...a.map((v, i) => v - b[i]!));

const face = (seed: number): Float32Array =>
  Float32Array.from({ length: FACE_PIXELS }, (_, i) => ((i * 7 + seed * 13) % 256) / 255);

describe('Embedder (committed model)', () => {
  let embedder: Embedder;
  beforeAll(async () => {
    embedder = await Embedder.load(MODEL_DIR, { intraOpThreads: 1 });
  });
  afterAll(() => embedder.close());

  it('returns one unit-length embedding of the manifest size per face', async () => {
    const out = await embedder.embed([face(1), face(2), face(3)]);
    expect(out).toHaveLength(3);
    for (const e of out) {
      expect(e).toBeInstanceOf(Float32Array);
      expect(e.length).toBe(embedder.manifest.output.size);
      expect(Math.hypot(...e)).toBeCloseTo(1, 4);
    }
    expect(embedder.manifest.output.size).toBe(48);
  });

  it('gives the same embedding for a face alone or inside a batch', async () => {
    const alone = await embedder.embed([face(5)]);
    const batch = await embedder.embed([face(4), face(5), face(6)]);
    expect(alone).toHaveLength(1);
    expect(batch).toHaveLength(3);
    expect(alone[0]).toHaveLength(embedder.manifest.output.size);
    expect(batch[1]).toHaveLength(embedder.manifest.output.size);
    alone[0]!.forEach((v, i) => expect(batch[1]![i]).toBeCloseTo(v, 5));
    // Its neighbours in the batch are other faces, with other embeddings.
    expect(distance(batch[0]!, batch[1]!)).toBeGreaterThan(1e-3);
    expect(distance(batch[2]!, batch[1]!)).toBeGreaterThan(1e-3);
  });

  it('splits batches larger than maxBatch and keeps the order', async () => {
    const small = await Embedder.load(MODEL_DIR, { maxBatch: 2, intraOpThreads: 1 });
    // Sessions are instances of the class behind `InferenceSession` (its type shows only the factory).
    const sessionClass = ort.InferenceSession as unknown as { prototype: ort.InferenceSession };
    const run = vi.spyOn(sessionClass.prototype, 'run');
    try {
      const inputs = [face(1), face(2), face(3), face(4), face(5)];
      const split = await small.embed(inputs);
      // One model run per slice of at most maxBatch faces, in order.
      const runSizes = run.mock.calls.map(([feeds]) => Object.values(feeds)[0]!.dims[0]);
      expect(runSizes).toEqual([2, 2, 1]);
      run.mockRestore();
      const whole = await embedder.embed(inputs);
      expect(split).toHaveLength(inputs.length);
      expect(whole).toHaveLength(inputs.length);
      split.forEach((e, i) => {
        expect(e).toHaveLength(embedder.manifest.output.size);
        e.forEach((v, j) => expect(v).toBeCloseTo(whole[i]![j]!, 5));
      });
      expect(await small.embed([])).toEqual([]);
    } finally {
      run.mockRestore();
      await small.close();
    }
  });

  it('rejects wrongly sized faces with a TypeError', async () => {
    await expect(embedder.embed([new Float32Array(10)])).rejects.toThrow(TypeError);
  });

  it('close() waits for in-flight work, is idempotent, and later calls fail with MODEL_CLOSED', async () => {
    const e = await Embedder.load(MODEL_DIR, { intraOpThreads: 1 });
    const inflight = e.embed([face(1), face(2)]);
    const closing = e.close();
    expect(await inflight).toHaveLength(2);
    await closing;
    await e.close();
    expect(e.closed).toBe(true);
    await expect(e.embed([face(1)])).rejects.toMatchObject({ code: 'MODEL_CLOSED' });
  });

  it('survives many load/close cycles without leaking sessions', async () => {
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 20; i++) {
      const e = await Embedder.load(MODEL_DIR, { intraOpThreads: 1 });
      await e.embed([face(i)]);
      await e.close();
    }
    // Generous bound: a leaked session per cycle would add tens of MB.
    expect(process.memoryUsage().rss - before).toBeLessThan(150 * 1024 * 1024);
  });
});

describe('Embedder load failures stop start-up with MODEL_LOAD_FAILED', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fv-model-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const expectLoadFailure = async (modelDir: string, message: RegExp): Promise<void> => {
    const error = await Embedder.load(modelDir).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(VerificationError);
    expect((error as VerificationError).code).toBe('MODEL_LOAD_FAILED');
    expect((error as VerificationError).message).toMatch(message);
  };

  it('missing directory', async () => {
    await expectLoadFailure(path.join(dir, 'nope'), /ENOENT/);
  });

  it('weights that do not match the manifest sha256', async () => {
    const copy = path.join(dir, 'tampered');
    await cp(MODEL_DIR, copy, { recursive: true });
    const weights = await readFile(path.join(copy, 'model.onnx'));
    weights[weights.length - 10]! ^= 0xff;
    await writeFile(path.join(copy, 'model.onnx'), weights);
    await expectLoadFailure(copy, /sha256/);
  });

  it('a manifest that is not valid', async () => {
    const copy = path.join(dir, 'badmanifest');
    await cp(MODEL_DIR, copy, { recursive: true });
    await writeFile(path.join(copy, 'manifest.json'), JSON.stringify({ name: 'x' }));
    await expectLoadFailure(copy, /invalid model manifest/);
  });

  it('weights that are not an ONNX graph', async () => {
    await expect(Embedder.fromOnnxFile(path.join(MODEL_DIR, 'manifest.json'))).rejects.toMatchObject({
      code: 'MODEL_LOAD_FAILED',
    });
  });

  it('unknown execution providers are a TypeError', async () => {
    await expect(Embedder.load(MODEL_DIR, { executionProviders: ['quantum' as 'cpu'] })).rejects.toThrow(
      TypeError,
    );
  });
});
