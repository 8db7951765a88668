import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isClipLabels, readLabelledRecordings } from './clip-files.ts';

const labels = { fps: 30, actions: { neutral: [[0, 4]], smile: [[5, 9]] } };
const frame = (i: number) => ({ i, faces: 1, box: null, features: null, landmarks: null });
const recording = (frames = [frame(0), frame(1)]) => ({
  clip: 'c',
  fps: 30,
  width: 8,
  height: 8,
  model: 'm',
  frames,
});

describe('liveness clip files', () => {
  const dirs: string[] = [];
  const dir = (files: Record<string, unknown>): string => {
    const d = mkdtempSync(path.join(tmpdir(), 'fv-clips-'));
    dirs.push(d);
    for (const [name, value] of Object.entries(files))
      writeFileSync(path.join(d, name), JSON.stringify(value));
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('accepts label files of known actions with inclusive integer ranges, and nothing else', () => {
    expect(isClipLabels(labels)).toBe(true);
    expect(isClipLabels({ ...labels, fps: 0 })).toBe(false);
    expect(isClipLabels({ fps: 30, actions: { wave: [[0, 1]] } })).toBe(false);
    expect(isClipLabels({ fps: 30, actions: { smile: [[5, 4]] } })).toBe(false);
    expect(isClipLabels({ fps: 30, actions: { smile: [[0.5, 4]] } })).toBe(false);
    expect(isClipLabels(null)).toBe(false);
  });

  it('pairs each label file with its recording, sorted by clip name', async () => {
    const clips = await readLabelledRecordings(
      dir({ 'b.json': labels, 'a.json': labels, 'notes.txt': 'x' }),
      dir({ 'a.json': recording(), 'b.json': recording() }),
    );
    expect(clips.map((c) => c.name)).toEqual(['a', 'b']);
    expect(clips[0]!.labels).toEqual(labels);
    expect(clips[0]!.recording.frames).toHaveLength(2);
  });

  it('names the clip whose label file or recording is wrong', async () => {
    await expect(readLabelledRecordings(dir({}), dir({}))).rejects.toThrow(/no <clip>.json labels/);
    await expect(
      readLabelledRecordings(
        dir({ 'a.json': { fps: 30, actions: { wave: [] } } }),
        dir({ 'a.json': recording() }),
      ),
    ).rejects.toThrow(/a\.json: not/);
    await expect(
      readLabelledRecordings(dir({ 'a.json': labels }), dir({ 'a.json': recording([frame(0), frame(2)]) })),
    ).rejects.toThrow(/a: recording frame 1 has i=2/);
    await expect(readLabelledRecordings(dir({ 'a.json': labels }), dir({}))).rejects.toThrow(/ENOENT/);
  });
});
