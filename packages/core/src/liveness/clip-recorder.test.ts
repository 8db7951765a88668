import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLabelledRecordings } from './clip-files.ts';
import { ClipRecorder, grayFrames, probeVideo, writeRecording } from './clip-recorder.ts';

const HAS_FFMPEG = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!HAS_FFMPEG)('clip recorder', () => {
  let dir: string;
  let video: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'fv-clip-recorder-'));
    video = path.join(dir, 'pattern.mp4');
    // 6 frames of a 64×48 test pattern at 12 fps: no face in it.
    execFileSync('ffmpeg', [
      ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=12', '-frames:v', '6'],
      ...['-pix_fmt', 'yuv420p', video],
    ]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('probes a video’s size and rate, and decodes every frame to gray', async () => {
    expect(await probeVideo(video)).toEqual({ width: 64, height: 48, fps: 12 });
    const frames = [];
    for await (const f of grayFrames(video, 64, 48)) frames.push(f);
    expect(frames).toHaveLength(6);
    expect(frames.every((f) => f.width === 64 && f.height === 48 && f.data.length === 64 * 48)).toBe(true);
    expect(new Set(frames[0]!.data).size).toBeGreaterThan(4); // a pattern, not a blank frame
  });

  it('stops decoding when the reader stops, and names a file it cannot read', async () => {
    for await (const f of grayFrames(video, 64, 48)) {
      expect(f.data.length).toBe(64 * 48);
      break;
    }
    await expect(probeVideo(path.join(dir, 'missing.mp4'))).rejects.toThrow(/missing\.mp4/);
  });

  it('records every frame (here without a face) as readLabelledRecordings reads it', async () => {
    const recorder = await ClipRecorder.open();
    try {
      const result = await recorder.record(video);
      expect(result.recording).toMatchObject({ clip: 'pattern', fps: 12, width: 64, height: 48 });
      expect(result.recording.frames).toEqual(
        [0, 1, 2, 3, 4, 5].map((i) => ({ i, faces: 0, box: null, features: null, landmarks: null })),
      );
      expect(result.featureFrames).toBe(0);
      const out = path.join(dir, 'recordings');
      expect(await writeRecording(out, result.recording)).toBe(path.join(out, 'pattern.json'));
      const labels = path.join(dir, 'labels');
      mkdirSync(labels);
      writeFileSync(path.join(labels, 'pattern.json'), '{"fps":12,"actions":{"neutral":[[0,5]]}}');
      const [read] = await readLabelledRecordings(labels, out);
      expect(read!.recording).toEqual(result.recording);
    } finally {
      await recorder.close();
    }
  });

  it('needs a model with a landmark net', async () => {
    await expect(ClipRecorder.open(dir)).rejects.toThrow(/no aligned-crop landmark net/);
  });
});
