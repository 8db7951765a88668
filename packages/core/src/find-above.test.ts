import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findAbove } from './find-above.ts';

describe('findAbove', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'find-above-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'a', 'b', 'c'), { recursive: true });
  mkdirSync(path.join(root, 'a', 'assets'), { recursive: true });
  writeFileSync(path.join(root, 'a', 'assets', 'x.xml'), '');

  it('gives the nearest folder at or above the start that holds the path', () => {
    expect(findAbove(path.join(root, 'a', 'b', 'c'), path.join('assets', 'x.xml'))).toBe(
      path.join(root, 'a'),
    );
    expect(findAbove(path.join(root, 'a'), path.join('assets', 'x.xml'))).toBe(path.join(root, 'a'));
  });

  it('gives null when no folder up to the file system root holds it', () => {
    expect(findAbove(path.join(root, 'a', 'b', 'c'), path.join('assets', 'missing-7f3a.xml'))).toBeNull();
  });
});
