// The serving landmark net (models/siamese-v5-int8/landmarks.onnx, converted by fvtrain.landmarks) must
// compute what face-api's own faceLandmark68Net computes on tfjs.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, lfwFile } from '../../../tests/support/shared-data.ts';
import { boxTransform, decodeGray, squareAround, warpSimilarity } from '@fv/core';
import { LANDMARK_INPUT, LFW_CENTRE_BOX, loadTeacher, type TeacherNets } from './face-api-teacher.ts';

const FACES: [string, number][] = [
  ['Aaron_Eckhart', 1],
  ['George_W_Bush', 10],
  ['Serena_Williams', 3],
  ['Abdullah_Gul', 5],
];

describe('landmarks.onnx reproduces face-api faceLandmark68Net', () => {
  let teacher: TeacherNets;
  let session: ort.InferenceSession;
  beforeAll(async () => {
    teacher = await loadTeacher();
    session = await ort.InferenceSession.create(
      path.join(REPO_ROOT, 'models/siamese-v5-int8/landmarks.onnx'),
    );
  });
  afterAll(() => session.release());

  it('to within 1e-5 of the input side on LFW faces', async () => {
    const S = LANDMARK_INPUT;
    const rgb = new Uint8Array(FACES.length * S * S * 3);
    const grey = new Float32Array(FACES.length * S * S);
    for (const [i, [name, image]] of FACES.entries()) {
      const img = await decodeGray(await readFile(lfwFile(name, image)));
      const t = boxTransform(squareAround(LFW_CENTRE_BOX, 1.5, 0.1), S);
      warpSimilarity(img, t, S, S, 3, rgb, i * S * S * 3);
      grey.set(warpSimilarity(img, t, S, S), i * S * S);
    }
    const expected = teacher.landmarks(rgb, FACES.length, S);
    const result = await session.run({ image: new ort.Tensor('float32', grey, [FACES.length, 1, S, S]) });
    const actual = result['landmarks']!.data as Float32Array;
    expect(actual).toHaveLength(FACES.length * 136);
    let worst = 0;
    for (let k = 0; k < actual.length; k++) worst = Math.max(worst, Math.abs(actual[k]! - expected[k]!));
    expect(worst).toBeLessThan(1e-5);
    // And they are landmarks: inside the square, spread over the face.
    expect(Math.min(...actual)).toBeGreaterThan(0);
    expect(Math.max(...actual)).toBeLessThan(1);
  });
});
