import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findAbove } from '../find-above.ts';

/**
 * The model the service serves, and the one `npm run eval`, `bench` and `calibrate` use unless told
 * otherwise: siamese-v5-int8 (its card, models/siamese-v5-int8/README.md, holds its figures and how
 * to reproduce it). Serving another model is this one edit (plus the tests that name the model they
 * expect).
 */
export const DEFAULT_MODEL_NAME = 'siamese-v5-int8';

/**
 * The committed models' folder, `models/` at the repository root: the nearest folder above this
 * module that holds the default model. Searched rather than counted in `..`s, because this module
 * runs from its source file (tests, CLIs) and bundled into apps/server/dist (`npm start`).
 */
export const MODELS_ROOT = findModelsRoot(path.dirname(fileURLToPath(import.meta.url)));

/** Absolute path of {@link DEFAULT_MODEL_NAME}'s folder. */
export const DEFAULT_MODEL_DIR = path.join(MODELS_ROOT, DEFAULT_MODEL_NAME);

function findModelsRoot(start: string): string {
  const root = findAbove(start, path.join('models', DEFAULT_MODEL_NAME, 'manifest.json'));
  // Not found: name the place it was expected, so the load error says where to look.
  return root === null ? path.resolve(start, '../../../../models') : path.join(root, 'models');
}
