// vitest `globalSetup`: builds the server once per run (apps/server/build.mjs, esbuild, ~0.1 s), so
// the suites that start it as its own process run what `npm start` runs: the JavaScript build
// under plain `node`, with no transpiler (see SERVER_COMMAND in server-process.ts).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export default function setup(): void {
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'apps/server/build.mjs')], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
