import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_DIR } from '../../../../tests/support/shared-data.ts';
import { VerificationError } from '../errors.ts';
import { FACE_PIXELS } from '../image/preprocess.ts';
import { Embedder } from './embedder.ts';

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
    const [alone] = await embedder.embed([face(5)]);
    const batch = await embedder.embed([face(4), face(5), face(6)]);
    for (let i = 0; i < alone!.length; i++) expect(batch[1]![i]).toBeCloseTo(alone![i]!, 5);
  });

  it('splits batches larger than maxBatch and keeps the order', async () => {
    const small = await Embedder.load(MODEL_DIR, { maxBatch: 2, intraOpThreads: 1 });
    try {
      const inputs = [face(1), face(2), face(3), face(4), face(5)];
      const split = await small.embed(inputs);
      const whole = await embedder.embed(inputs);
      split.forEach((e, i) => expect(e[0]).toBeCloseTo(whole[i]![0]!, 5));
      expect(await small.embed([])).toEqual([]);
    } finally {
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
