import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAlignedCrop } from '../align/face-aligner.ts';
import { FACE_PIXELS } from '../image/preprocess.ts';
import { cropSpecOfPrepared, faceSourceFor, subjectOfPrepared } from './face-source.ts';

/** A one-crop prepared directory whose meta.json records `crop` (and `detector`, if given). */
async function prepared(dir: string, crop: unknown, detector?: unknown): Promise<string> {
  await writeFile(path.join(dir, 'crops.u8'), new Uint8Array(FACE_PIXELS));
  await writeFile(path.join(dir, 'index.tsv'), 'index\tname\timage\tdetected\tfaces\n0\tA\t1\t1\t1\n');
  await writeFile(
    path.join(dir, 'meta.json'),
    JSON.stringify({ height: 62, width: 47, count: 1, crop, ...(detector !== undefined && { detector }) }),
  );
  return dir;
}

describe('prepared crops must be cut the way the model wants', () => {
  const spec = defaultAlignedCrop('landmarks.onnx', 'a'.repeat(64));
  let root: string;
  let boxDir: string;
  let alignedDir: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'fv-source-'));
    await mkdir(path.join(root, 'box'));
    await mkdir(path.join(root, 'aligned'));
    boxDir = await prepared(path.join(root, 'box'), { widthScale: 0.78, centerYShift: 0.05 });
    alignedDir = await prepared(
      path.join(root, 'aligned'),
      { ...spec, fallbackBoxFraction: 0.48 },
      { subject: 'centre' },
    );
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('reads the crop spec a prepare directory was cut with', async () => {
    expect(await cropSpecOfPrepared(boxDir)).toBeUndefined();
    expect((await cropSpecOfPrepared(alignedDir))?.template).toEqual(spec.template);
  });

  it('reads which face was the subject: centre when recorded, largest for directories from before the rule', async () => {
    expect(await subjectOfPrepared(alignedDir)).toBe('centre');
    expect(await subjectOfPrepared(boxDir)).toBe('largest');
  });

  it('accepts matching crops and refuses the others with a clear message', async () => {
    const align = { modelDir: root, spec };
    await expect(faceSourceFor({ crops: boxDir })).resolves.toBeDefined();
    await expect(faceSourceFor({ crops: alignedDir, align })).resolves.toBeDefined();
    await expect(faceSourceFor({ crops: alignedDir })).rejects.toThrow(
      /holds aligned crops, but the model takes box crops/,
    );
    await expect(faceSourceFor({ crops: boxDir, align })).rejects.toThrow(
      /holds box crops, but the model takes aligned crops/,
    );
    const other = {
      modelDir: root,
      spec: { ...spec, template: { ...spec.template, points: [17, 67] as const } },
    };
    await expect(faceSourceFor({ crops: alignedDir, align: other })).rejects.toThrow(/aligned differently/);
  });
});
