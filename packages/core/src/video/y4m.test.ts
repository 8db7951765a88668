import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedDataDir } from '../../../../tests/support/shared-data.ts';
import { parseY4m } from './y4m.ts';

describe('parseY4m', () => {
  it('reads the shared webcam clip: 320×240 luma frames', () => {
    const video = parseY4m(readFileSync(path.join(sharedDataDir(), 'video', 'person-a_320x240_3s.y4m')));
    expect([video.width, video.height]).toEqual([320, 240]);
    expect(video.frames.length).toBeGreaterThanOrEqual(30);
    expect(video.frames[0]!.data.length).toBe(320 * 240);
    expect(video.fps).toBeGreaterThan(0);
  });

  it('parses a synthetic file and rejects damaged ones', () => {
    const frame = Buffer.concat([Buffer.from('FRAME\n'), Buffer.alloc(4, 7), Buffer.alloc(2, 128)]);
    const file = Buffer.concat([Buffer.from('YUV4MPEG2 W2 H2 F10:1 C420jpeg\n'), frame, frame]);
    const video = parseY4m(file);
    expect(video.frames).toHaveLength(2);
    expect([...video.frames[1]!.data]).toEqual([7, 7, 7, 7]);
    expect(video.fps).toBe(10);
    expect(() => parseY4m(file.subarray(0, file.length - 1))).toThrow(/truncated/);
    expect(() => parseY4m(Buffer.from('GIF89a\n'))).toThrow(/signature/);
    expect(() => parseY4m(Buffer.from('YUV4MPEG2 W2 H2 C444\n'))).toThrow(/colourspace/);
  });
});
