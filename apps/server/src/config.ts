import envSchema from 'env-schema';
import { Type, type Static } from '@sinclair/typebox';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  HOST: Type.String({ default: '0.0.0.0' }),
  MODEL_DIR: Type.String({ default: path.join(REPO_ROOT, 'models', 'siamese-v1') }),
  /** Comma-separated ONNX Runtime execution providers, e.g. `cuda,cpu` on GPU workers. */
  EXECUTION_PROVIDERS: Type.String({
    default: 'cpu',
    pattern: '^(cpu|cuda|tensorrt)(,(cpu|cuda|tensorrt))*$',
  }),
  INTRA_OP_THREADS: Type.Integer({ minimum: 0, default: 0 }),
  /** Largest accepted upload, per image. */
  MAX_IMAGE_BYTES: Type.Integer({ minimum: 1024, maximum: 100 * 1024 * 1024, default: 20 * 1024 * 1024 }),
  MAX_IMAGE_PIXELS: Type.Integer({ minimum: 1024, default: 40_000_000 }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
});

export type Config = Static<typeof ConfigSchema>;

/**
 * Reads the configuration from the environment once, at start-up. A bad value throws an error
 * that names the setting, so a broken deployment stops before it serves anything.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return envSchema<Config>({ schema: ConfigSchema, data: env, dotenv: false });
}
