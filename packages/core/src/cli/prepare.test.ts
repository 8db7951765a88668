import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, lfwDir, lfwFile } from '../../../../tests/support/shared-data.ts';
import { HaarDetector } from '../detect/haar-detector.ts';
import { FaceAligner, alignedCropSpec } from '../align/face-aligner.ts';
import { alignFace, extractFace } from '../face-analyzer.ts';
import { decodeGray } from '../image/decode.ts';
import { FACE_PIXELS } from '../image/preprocess.ts';

const run = promisify(execFile);
const PEOPLE: [string, number][] = [
  ['Aaron_Peirsol', 4],
  ['AJ_Cook', 1],
  ['Abdullah_Gul', 19],
];

describe('prepare CLI (training crops) and serving produce identical crops', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'fv-prepare-'));
    for (const [name] of PEOPLE) {
      await mkdir(path.join(dir, 'lfw'), { recursive: true });
      await symlink(path.join(lfwDir(), name), path.join(dir, 'lfw', name));
    }
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes crops.u8, index.tsv and meta.json byte-identical to the serving path', async () => {
    const out = path.join(dir, 'crops');
    await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'packages/core/src/cli/prepare.ts',
        '--images',
        path.join(dir, 'lfw'),
        '--out',
        out,
        '--workers',
        '2',
      ],
      {
        cwd: REPO_ROOT,
      },
    );
    const index = (await readFile(path.join(out, 'index.tsv'), 'utf8')).trim().split('\n');
    const crops = await readFile(path.join(out, 'crops.u8'));
    const boxes = (await readFile(path.join(out, 'boxes.tsv'), 'utf8')).trim().split('\n');
    const meta = JSON.parse(await readFile(path.join(out, 'meta.json'), 'utf8')) as Record<string, unknown>;
    const expected = [...PEOPLE]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .flatMap(([name, count]) => Array.from({ length: count }, (_, i) => [name, i + 1] as const));
    expect(index[0]).toBe('index\tname\timage\tdetected\tfaces');
    expect(index).toHaveLength(expected.length + 1);
    expect(boxes[0]).toBe('index\tx\ty\twidth\theight');
    expect(boxes).toHaveLength(expected.length + 1);
    expect(crops.length).toBe(expected.length * FACE_PIXELS);
    expect(meta).toMatchObject({ height: 62, width: 47, count: expected.length, normalisation: 'x / 255' });

    const detector = await HaarDetector.create();
    try {
      for (const [row, [name, image]] of expected.entries()) {
        const [i, n, img, detected] = index[row + 1]!.split('\t');
        expect([Number(i), n, Number(img)]).toEqual([row, name, image]);
        const served = extractFace(detector, await decodeGray(await readFile(lfwFile(name, image))), {
          fallback: true,
        })!;
        expect(detected).toBe(served.detected ? '1' : '0');
        // The box the crop was cut around, exactly (offline tools cut other crops from it).
        expect(boxes[row + 1]!.split('\t').map(Number)).toEqual([
          row,
          served.box.x,
          served.box.y,
          served.box.width,
          served.box.height,
        ]);
        expect(
          Buffer.compare(
            crops.subarray(row * FACE_PIXELS, (row + 1) * FACE_PIXELS),
            Buffer.from(served.crop),
          ),
        ).toBe(0);
      }
    } finally {
      detector.close();
    }
  });

  it('with --align, cuts the landmark-aligned crops the serving path cuts, and records the spec', async () => {
    const out = path.join(dir, 'aligned');
    const landmarks = path.join(REPO_ROOT, 'models', 'siamese-v5-int8', 'landmarks.onnx');
    const args = ['--import', 'tsx', 'packages/core/src/cli/prepare.ts', '--images', path.join(dir, 'lfw')];
    await run(process.execPath, [...args, '--out', out, '--workers', '2', '--align', landmarks], {
      cwd: REPO_ROOT,
    });
    const index = (await readFile(path.join(out, 'index.tsv'), 'utf8')).trim().split('\n').slice(1);
    const crops = await readFile(path.join(out, 'crops.u8'));
    const lmBytes = await readFile(path.join(out, 'landmarks.f32'));
    const landmarks68 = new Float32Array(lmBytes.buffer, lmBytes.byteOffset, lmBytes.byteLength / 4);
    expect(landmarks68.length).toBe(index.length * 136);
    const meta = JSON.parse(await readFile(path.join(out, 'meta.json'), 'utf8')) as { crop: unknown };
    const spec = alignedCropSpec({ crop: meta.crop })!;
    expect(spec).toMatchObject({ mode: 'aligned', landmarks: { file: 'landmarks.onnx' } });
    const aligner = await FaceAligner.load(path.dirname(landmarks), spec);
    const detector = await HaarDetector.create();
    try {
      let differing = 0;
      for (const [row, line] of index.entries()) {
        const [, name, image] = line.split('\t');
        const gray = await decodeGray(await readFile(lfwFile(name!, Number(image))));
        const box = extractFace(detector, gray, { fallback: true })!;
        const served = await alignFace(aligner, gray, box);
        const prepared = crops.subarray(row * FACE_PIXELS, (row + 1) * FACE_PIXELS);
        expect(Buffer.compare(prepared, Buffer.from(served.crop))).toBe(0);
        // The landmarks the crop was aligned with: the crop is their warp through the template.
        const rowLandmarks = landmarks68.subarray(row * 136, (row + 1) * 136);
        expect(Number.isFinite(rowLandmarks[0])).toBe(true);
        const [face] = await aligner.align(gray, [box.box]);
        expect(Array.from(rowLandmarks)).toEqual(Array.from(face!.landmarks));
        if (Buffer.compare(prepared, Buffer.from(box.crop)) !== 0) differing++;
      }
      // Aligned crops are not the box crops.
      expect(differing).toBe(index.length);
    } finally {
      detector.close();
      await aligner.close();
    }
    // A missing landmark net is a clear CLI error, not a crash.
    const failed = await run(
      process.execPath,
      [...args, '--out', path.join(dir, 'x'), '--align', '/nonexistent.onnx'],
      {
        cwd: REPO_ROOT,
      },
    ).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toMatch(/--align: cannot read/);
  });
});
