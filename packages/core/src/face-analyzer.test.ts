import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedDataDir } from '../../../tests/support/shared-data.ts';
import { FaceTracker } from './detect/face-tracker.ts';
import { HaarDetector } from './detect/haar-detector.ts';
import { analyseFrame, extractFace } from './face-analyzer.ts';
import { FACE_PIXELS } from './image/preprocess.ts';
import { assessQuality } from './image/quality.ts';
import { parseY4m } from './video/y4m.ts';

const clip = parseY4m(readFileSync(path.join(sharedDataDir(), 'video', 'person-a_320x240_3s.y4m')));

describe('analyseFrame (a live frame: detect → crop → quality)', () => {
  let detector: HaarDetector;
  beforeAll(async () => {
    detector = await HaarDetector.create();
  });
  afterAll(() => detector.close());

  it("gives the stream tracker's face, its crop and quality flags, as the pieces would", async () => {
    const tracker = new FaceTracker(detector);
    const reference = new FaceTracker(detector);
    for (const frame of clip.frames.slice(0, 4)) {
      const analysed = await analyseFrame(frame, tracker, null);
      const face = extractFace(reference, frame)!;
      expect(analysed).toMatchObject({ faceCount: face.faceCount, box: face.box });
      expect(analysed.crop).toHaveLength(FACE_PIXELS);
      expect(Buffer.compare(Buffer.from(analysed.crop!), Buffer.from(face.crop))).toBe(0);
      expect(analysed.quality).toEqual(assessQuality(face.crop, face.box, frame));
      expect(analysed.detectMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('says no face (count 0, no crop, no flags) rather than failing', async () => {
    const blank = { width: 160, height: 120, data: new Uint8Array(160 * 120).fill(128) };
    expect(await analyseFrame(blank, new FaceTracker(detector), null)).toMatchObject({
      faceCount: 0,
      box: null,
      crop: null,
      quality: [],
    });
  });
});
