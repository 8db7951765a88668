import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ScriptPlayer,
  answerChallenge,
  parseLivenessScript,
  sourceFrameAt,
  type Answer,
  type LivenessScript,
} from './liveness-script.ts';

const LABELS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../tests/fixtures/liveness-labels',
);

/** 10 fps keeps the arithmetic readable: one frame per 100 ms. */
const labels = (actions: Record<string, [number, number][]>, fps = 10): string =>
  JSON.stringify({ fps, actions });
const script = parseLivenessScript(
  labels({
    neutral: [
      [0, 2],
      [10, 11],
    ],
    smile: [
      [20, 24],
      [40, 41],
    ],
    open_mouth: [],
    turn_left: [[30, 31]],
  }),
  { fps: 10, frameCount: 50 },
);

describe('parseLivenessScript', () => {
  it('reads the committed label files against their clips', () => {
    const d19 = parseLivenessScript(readFileSync(path.join(LABELS_DIR, 'd19.json'), 'utf8'), {
      fps: 30,
      frameCount: 250,
    });
    expect([...d19.actions.keys()]).toEqual(['blink', 'smile']);
    expect(d19.neutral.slice(0, 7)).toEqual([0, 1, 2, 3, 4, 27, 28]);
  });

  it('keeps the neutral frames in order and only actions with ranges', () => {
    expect(script.neutral).toEqual([0, 1, 2, 10, 11]);
    expect([...script.actions.keys()]).toEqual(['smile', 'turn_left']);
  });

  it.each([
    ['{"fps": 10,', { fps: 10, frameCount: 50 }, /not JSON/],
    [JSON.stringify({ fps: 10 }), { fps: 10, frameCount: 50 }, /not a label file: expected \{"fps"/],
    [labels({ neutral: [[0, 2]], wave: [[3, 4]] }), { fps: 10, frameCount: 50 }, /not a label file/],
    [labels({ neutral: [[2, 0]] }), { fps: 10, frameCount: 50 }, /first ≤ last/],
    [
      labels({ neutral: [[0, 2]] }, 30),
      { fps: 25, frameCount: 50 },
      /labelled at 30 fps but the video plays at 25 fps/,
    ],
    [
      labels({ neutral: [[0, 2]], smile: [[40, 60]] }),
      { fps: 10, frameCount: 50 },
      /smile range \[40, 60\] is outside the video's frames 0–49/,
    ],
    [labels({ neutral: [[-1, 2]] }), { fps: 10, frameCount: 50 }, /neutral range \[-1, 2\] is outside/],
    [labels({ neutral: [], smile: [[3, 4]] }), { fps: 10, frameCount: 50 }, /no neutral range/],
  ])('refuses %s, saying what is wrong', (text, clip, message) => {
    expect(() => parseLivenessScript(text, clip)).toThrow(message);
  });
});

describe('sourceFrameAt', () => {
  const at = (answers: Answer[], t: number): number => sourceFrameAt(script, answers, t);

  it('loops the neutral frames at the clip rate while nothing is asked', () => {
    expect([0, 100, 200, 300, 400, 500, 650].map((t) => at([], t))).toEqual([0, 1, 2, 10, 11, 0, 1]);
  });

  it('plays an answered range from its first frame in real time, then resumes the neutral loop', () => {
    const answers: Answer[] = [{ action: 'smile', at: 250, range: [20, 24] }];
    // Before the answer: neutral. From 250 ms: frames 20–24 over 500 ms. Then neutral goes on from
    // where it stopped (250 ms of neutral played: frame index 2 of the loop).
    expect([0, 249, 250, 349, 350, 749, 750, 850].map((t) => at(answers, t))).toEqual([
      0, 2, 20, 20, 21, 24, 2, 10,
    ]);
  });

  it('leaves a challenge without a labelled range unanswered (neutral goes on)', () => {
    const answers: Answer[] = [{ action: 'open_mouth', at: 100, range: null }];
    expect([100, 200, 300].map((t) => at(answers, t))).toEqual([1, 2, 10]);
  });

  it('cuts a range short when the next answer comes before it ends', () => {
    const answers: Answer[] = [
      { action: 'smile', at: 0, range: [20, 24] },
      { action: 'turn_left', at: 200, range: [30, 31] },
    ];
    expect([0, 100, 200, 300, 400, 500].map((t) => at(answers, t))).toEqual([20, 21, 30, 31, 0, 1]);
  });
});

describe('answerChallenge / ScriptPlayer', () => {
  it('picks one of the action’s ranges with the injected random source', () => {
    expect(answerChallenge(script, 'smile', 5, () => 0).range).toEqual([20, 24]);
    expect(answerChallenge(script, 'smile', 5, () => 0.99).range).toEqual([40, 41]);
    expect(answerChallenge(script, 'turn_right', 5, () => 0)).toEqual({
      action: 'turn_right',
      at: 5,
      range: null,
    });
  });

  it('records challenges at the injected clock and shows the frame for now', () => {
    let now = 0;
    const player = new ScriptPlayer(
      script satisfies LivenessScript,
      () => now,
      () => 0.5,
    );
    expect(player.frame()).toBe(0);
    now = 300;
    expect(player.challenge('smile')).toEqual({ action: 'smile', at: 300, range: [40, 41] });
    expect(player.frame()).toBe(40);
    now = 450;
    expect(player.frame()).toBe(41);
    now = 500;
    expect(player.frame()).toBe(10); // 300 ms of neutral had played: the loop's 4th frame
  });
});
