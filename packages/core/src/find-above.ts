import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The nearest folder at or above `start` that holds `probe` (a relative path), or null. Core's
 * committed files (models, cascades) are found this way rather than by counting `..`s, because core
 * runs from its source files (tests, CLIs) and bundled into apps/server/dist (`npm start`).
 */
export function findAbove(start: string, probe: string): string | null {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, probe))) return dir;
    if (path.dirname(dir) === dir) return null;
  }
}
