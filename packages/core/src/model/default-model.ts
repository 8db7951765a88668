import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The model the service loads unless configured otherwise. siamese-v5-int8 (siamese-v5 quantised
 * to int8: DevTest 94.80%, the seed network's throughput) replaced siamese-v5 (94.40%, 80-85% of
 * it on this project's current CPUs), which had replaced siamese-v3 (aligned crops, 91.90%),
 * siamese-v2 (90.70%) and siamese-v1 (88.10%). A default switch is this one edit (plus the tests
 * that name the model they expect).
 */
export const DEFAULT_MODEL_NAME = 'siamese-v5-int8';

/** The committed models' folder, `models/` at the repository root. */
export const MODELS_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../models');

/** Absolute path of {@link DEFAULT_MODEL_NAME}'s folder. */
export const DEFAULT_MODEL_DIR = path.join(MODELS_ROOT, DEFAULT_MODEL_NAME);
