import { readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parsePairs, type LfwPairList } from '../lfw/pairs.ts';

/** Parses CLI flags; on a usage error prints the message and usage, then exits with status 2. */
export function parseCli<T extends NonNullable<ParseArgsConfig['options']>>(
  options: T,
  usage: string,
): ReturnType<typeof parseArgs<{ options: T; strict: true; allowPositionals: false }>>['values'] {
  try {
    const { values } = parseArgs({ options, strict: true, allowPositionals: false });
    if ((values as Record<string, unknown>)['help']) {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    }
    return values;
  } catch (error) {
    process.stderr.write(`${errorMessage(error)}\n\n${usage}\n`);
    process.exit(2);
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** fail() with an error's message, after what it concerns (e.g. a file) where given. */
export function failWith(error: unknown, context?: string): never {
  fail(context === undefined ? errorMessage(error) : `${context}: ${errorMessage(error)}`);
}

export function fail(message: string): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

/** An LFW pairs file, or fail() naming the file when it cannot be read or parsed. */
export async function readPairsOrFail(file: string): Promise<LfwPairList> {
  try {
    return parsePairs(await readFile(file, 'utf8'));
  } catch (error) {
    failWith(error, file);
  }
}
