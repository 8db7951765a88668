import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedDataDir } from '../../../../tests/support/shared-data.ts';
import { parsePairs, peopleIn } from './pairs.ts';

describe('parsePairs', () => {
  it('parses a View 1 list (N matched then N mismatched)', () => {
    const list = parsePairs('2\nA\t1\t2\nB\t1\t3\nA\t1\tC\t2\nB\t2\tD\t1\n');
    expect(list.folds).toBe(1);
    expect(list.pairs.map((p) => p.same)).toEqual([true, true, false, false]);
    expect(list.pairs[2]).toMatchObject({ nameA: 'A', imageA: 1, nameB: 'C', imageB: 2 });
    expect([...peopleIn(list)].sort()).toEqual(['A', 'B', 'C', 'D']);
  });

  it('parses a multi-fold list and numbers the folds', () => {
    const list = parsePairs('2\t1\nA\t1\t2\nA\t1\tB\t1\nC\t1\t2\nC\t1\tD\t1\n');
    expect(list.pairs.map((p) => p.fold)).toEqual([0, 0, 1, 1]);
    expect([...peopleIn(list, 1)].sort()).toEqual(['C', 'D']);
  });

  it('rejects malformed files', () => {
    expect(() => parsePairs('')).toThrow(TypeError);
    expect(() => parsePairs('x\n')).toThrow(TypeError);
    expect(() => parsePairs('2\nA\t1\t2\n')).toThrow(/declares 4/);
    expect(() => parsePairs('1\nA\t1\nB\t1\tC\t1\n')).toThrow(/bad pairs line/);
    expect(() => parsePairs('1\nA\t0\t2\nB\t1\tC\t1\n')).toThrow(/bad image number/);
  });

  it('reads the real LFW lists', () => {
    const dir = path.join(sharedDataDir(), 'lfw-pairs');
    expect(parsePairs(readFileSync(path.join(dir, 'pairsDevTest.txt'), 'utf8')).pairs).toHaveLength(1000);
    expect(parsePairs(readFileSync(path.join(dir, 'pairsDevTrain.txt'), 'utf8')).pairs).toHaveLength(2200);
    const view2 = parsePairs(readFileSync(path.join(dir, 'pairs.txt'), 'utf8'));
    expect(view2.folds).toBe(10);
    expect(view2.pairs).toHaveLength(6000);
  });
});
