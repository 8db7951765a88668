import { alignedCropSpec } from '../align/face-aligner.ts';
import type { LogisticCalibration } from '../scoring.ts';

/** `models/<name>/manifest.json`: everything needed to serve and to audit a trained model. */
export interface ModelManifest {
  readonly name: string;
  readonly file: string;
  /** sha256 (hex) of `file`; checked at load. */
  readonly sha256: string;
  readonly input: {
    readonly name: string;
    /** `[batch, channels, height, width]`; batch is dynamic (null). */
    readonly shape: readonly [null, 1, number, number];
    readonly dtype: 'float32';
    readonly normalisation: 'x / 255';
  };
  readonly output: {
    readonly name: string;
    readonly size: number;
    readonly l2Normalised: boolean;
  };
  readonly distance: 'euclidean';
  /** Pairs at or below this distance match (best accuracy on the calibration pairs). */
  readonly threshold: number;
  /** Stricter thresholds for a target false-accept rate, e.g. `far1e2` (1%). */
  readonly operatingPoints?: Readonly<Record<string, { threshold: number; far: number; tar: number }>>;
  readonly calibration: LogisticCalibration;
  readonly metrics?: Record<string, unknown>;
  readonly training?: Record<string, unknown>;
  readonly [key: string]: unknown;
}

function fail(path: string, problem: string): never {
  throw new TypeError(`invalid model manifest ${path}: ${problem}`);
}

/** Validates a parsed manifest (untrusted JSON) and returns it typed. */
export function parseManifest(value: unknown, path = 'manifest.json'): ModelManifest {
  if (typeof value !== 'object' || value === null) fail(path, 'not an object');
  const m = value as Record<string, unknown>;
  const str = (k: string): string => {
    const v = m[k];
    if (typeof v !== 'string' || v.length === 0) fail(path, `${k} must be a non-empty string`);
    return v;
  };
  str('name');
  str('file');
  if (!/^[0-9a-f]{64}$/.test(str('sha256'))) fail(path, 'sha256 must be 64 hex digits');
  const input = m['input'] as Record<string, unknown> | undefined;
  const shape = input?.['shape'];
  if (
    !Array.isArray(shape) ||
    shape.length !== 4 ||
    shape[0] !== null ||
    shape[1] !== 1 ||
    !Number.isInteger(shape[2]) ||
    !Number.isInteger(shape[3])
  ) {
    fail(path, 'input.shape must be [null, 1, height, width]');
  }
  if (typeof input?.['name'] !== 'string') fail(path, 'input.name must be a string');
  if (input['normalisation'] !== 'x / 255') fail(path, 'input.normalisation must be "x / 255"');
  const output = m['output'] as Record<string, unknown> | undefined;
  if (typeof output?.['name'] !== 'string') fail(path, 'output.name must be a string');
  if (!Number.isInteger(output['size']) || (output['size'] as number) < 1)
    fail(path, 'output.size must be a positive integer');
  if (m['distance'] !== 'euclidean') fail(path, 'distance must be "euclidean"');
  if (typeof m['threshold'] !== 'number' || !(m['threshold'] > 0))
    fail(path, 'threshold must be a positive number');
  const cal = m['calibration'] as Record<string, unknown> | undefined;
  if (
    cal?.['type'] !== 'logistic' ||
    typeof cal['slope'] !== 'number' ||
    typeof cal['intercept'] !== 'number'
  ) {
    fail(path, 'calibration must be {type: "logistic", slope, intercept}');
  }
  try {
    alignedCropSpec(m['preprocessing']);
  } catch (error) {
    fail(path, (error as Error).message);
  }
  return value as ModelManifest;
}
