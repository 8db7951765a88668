import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MODEL_DIR, MODELS_ROOT } from '@fv/core';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The shared data folder (LFW, pair lists, videos): `FV_DATA_DIR`, else `../shared/data` beside
 * the checkout. Missing data is an error, not a skip: a suite that silently skips is a failing one.
 */
export function sharedDataDir(): string {
  const candidates = [
    process.env['FV_DATA_DIR'],
    path.resolve(REPO_ROOT, '../shared/data'),
    '/work/shared/data',
  ];
  for (const c of candidates) if (c && existsSync(path.join(c, 'lfw'))) return c;
  throw new Error(`shared data not found (tried ${candidates.filter(Boolean).join(', ')}); set FV_DATA_DIR`);
}

export function lfwDir(): string {
  return path.join(sharedDataDir(), 'lfw');
}

export function lfwFile(name: string, image: number): string {
  return path.join(lfwDir(), name, `${name}_${String(image).padStart(4, '0')}.jpg`);
}

/** The default model (what the server loads unless MODEL_DIR says otherwise). */
export const MODEL_DIR = DEFAULT_MODEL_DIR;
/** Every committed model, each checked against its own manifest. */
export const MODEL_DIRS = ['siamese-v1', 'siamese-v5-int8'].map((name) => path.join(MODELS_ROOT, name));
