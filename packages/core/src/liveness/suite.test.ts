import { describe, expect, it } from 'vitest';
import type { LabelledRecording, RecordedFrame } from './clip-files.ts';
import { formatSuite, runSuite } from './suite.ts';
import { features, flat, neutralFace } from './test-faces.ts';

/**
 * A synthetic labelled recording, 30 fps, 10 s: neutral 0–29 (with landmarks: the print's stills),
 * turn_left 60–74, turn_right 150–164, a neutral face in between; a smile labelled 200–204 is too
 * short (167 ms) to be played as an answer.
 */
function clip(name: string): LabelledRecording {
  const landmarks = Array.from(flat(neutralFace()));
  const frames: RecordedFrame[] = Array.from({ length: 300 }, (_, i) => {
    const yaw = i >= 60 && i <= 74 ? 0.2 : i >= 150 && i <= 164 ? -0.2 : 0;
    return { i, faces: 1, box: null, features: features({ yaw }), landmarks: i < 30 ? landmarks : null };
  });
  return {
    name,
    labels: {
      fps: 30,
      actions: { neutral: [[0, 29]], turn_left: [[60, 74]], turn_right: [[150, 164]], smile: [[200, 204]] },
    },
    recording: { clip: name, fps: 30, width: 200, height: 200, model: 'synthetic', frames },
  };
}

describe('runSuite', () => {
  const clips = [clip('a'), clip('b')];
  const report = runSuite(clips, { seed: 1, draws: 20 });

  it('presents every clip as genuine, replay, print and swap, with N limited to what a clip has labelled', () => {
    expect(report.rows.map((r) => [r.presentation, r.metric, r.draws])).toEqual([
      ['genuine', 'BPCER', 40],
      ['replay', 'APCER', 40],
      ['print', 'APCER', 40],
      ['swap', 'APCER', 40], // 20 for each of the 2 ordered pairs
    ]);
    expect(report.notes).toContain('genuine a: N=2, not 3 (labelled: turn_left, turn_right)');
    expect(report.notes).toContain('genuine a: 1 smile range(s) under 300 ms not played as answers');
    const genuine = report.rows[0]!;
    expect(genuine.perClip).toEqual({
      a: { draws: 20, passes: 20, n: 2 },
      b: { draws: 20, passes: 20, n: 2 },
    });
    expect(genuine).toMatchObject({ passes: 40, rate: 0, reasons: {} });
    expect(report.rows[3]!.perClip).toEqual({
      'a→b': { draws: 20, passes: 0, n: 2 },
      'b→a': { draws: 20, passes: 0, n: 2 },
    });
  });

  it('counts attacks accepted as APCER, with their failure reasons and actions', () => {
    const [, replay, print, swap] = report.rows;
    // N = 3 of the four actions always asks a smile or an open mouth, which these clips never show.
    expect(replay).toMatchObject({ passes: 0, rate: 0 });
    expect(print).toMatchObject({ passes: 0, rate: 0, reasons: { timeout: 40 } });
    expect(swap).toMatchObject({ passes: 0, rate: 0, reasons: { identity_lost: 40 } });
    expect(Object.values(print!.failedOn).reduce((s, v) => s + v, 0)).toBe(40);
    expect(swap!.ci95[0]).toBe(0);
    expect(swap!.ci95[1]).toBeGreaterThan(0);
  });

  it('an attack that can pass is counted: a replay asked for one turn', () => {
    const r = runSuite(clips, { seed: 1, draws: 40, challenges: 1, actions: ['turn_left', 'turn_right'] });
    const replay = r.rows[1]!;
    expect(replay.passes).toBeGreaterThan(0);
    expect(replay.rate).toBe(replay.passes / replay.draws);
  });

  it('is reproducible from its seed', () => {
    const strip = (r: typeof report) => r.rows;
    expect(strip(runSuite(clips, { seed: 1, draws: 20 }))).toEqual(strip(report));
    const other = runSuite(clips, {
      seed: 2,
      draws: 20,
      challenges: 1,
      actions: ['turn_left', 'turn_right'],
    });
    const again = runSuite(clips, {
      seed: 2,
      draws: 20,
      challenges: 1,
      actions: ['turn_left', 'turn_right'],
    });
    expect(again.rows).toEqual(other.rows);
  });

  it('reports the judge’s CPU cost per analysed frame', () => {
    expect(report.judge.frames).toBeGreaterThan(160 * 10);
    expect(report.judge.ms).toBeGreaterThan(0);
    expect(report.judge.usPerFrame).toBeCloseTo((1000 * report.judge.ms) / report.judge.frames, 9);
    expect(formatSuite(report)).toMatch(/judge CPU: [\d.]+ µs per analysed frame \(\d+ frames/);
  });

  it('prints the table', () => {
    const text = formatSuite(report);
    expect(text).toContain(
      '| presentation | draws | passed | metric | rate   | 95% CI (Wilson) | failure reasons |',
    );
    expect(text).toContain(
      '| swap         |    40 |      0 | APCER  |   0.0% | 0.0%–8.8%       | identity_lost 40 |',
    );
    expect(text).toContain('genuine passed per clip: a 20/20 (N=2), b 20/20 (N=2)');
  });

  it('stops drawing after maxMs, and says so', () => {
    const r = runSuite(clips, { maxMs: 1e-9 });
    expect(r.stopped).toBe(true);
    expect(r.rows.every((row) => row.draws === 0 && row.rate === null)).toBe(true);
    expect(r.notes.at(-1)).toMatch(/^stopped after/);
  });

  it('refuses bad options', () => {
    expect(() => runSuite(clips, { challenges: 5 })).toThrow(/challenges 5 > the 4 actions/);
    expect(() => runSuite(clips, { actions: ['smile', 'smile'], challenges: 1 })).toThrow(/twice/);
    expect(() => runSuite(clips, { draws: 0 })).toThrow(/draws/);
    expect(() => runSuite(clips, { photoDistance: 1 })).toThrow(/photoDistance/);
  });
});
