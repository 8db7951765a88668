// ARCHITECTURE.md stays true: every repository path it names (in backticks) exists.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/shared-data.ts';

const text = readFileSync(path.join(REPO_ROOT, 'ARCHITECTURE.md'), 'utf8');
/** Backticked words that look like repository paths: a top folder of ours, then a file. */
const named = [
  ...new Set(
    [...text.matchAll(/`((?:apps|packages|tests|models|infra|docs)\/[^`\s]+\.[a-z]+)`/g)].map((m) => m[1]!),
  ),
];

describe('ARCHITECTURE.md', () => {
  it('names the files a frame passes through', () => {
    expect(named.length).toBeGreaterThanOrEqual(30);
  });

  it.each(named)('names %s, which exists', (file) => {
    expect(existsSync(path.join(REPO_ROOT, file))).toBe(true);
  });
});
