import type { ChildProcess } from 'node:child_process';
import type { NetNamespace } from './netns.ts';
import { REPO_ROOT } from './shared-data.ts';

/**
 * How suites start the server as its own process: the build `npm start` runs (made once per test
 * run by tests/support/build-server.ts), under plain `node`, argv relative to the repository root.
 */
export const SERVER_COMMAND: readonly [string, string[]] = [
  process.execPath,
  ['--enable-source-maps', 'apps/server/dist/server.js'],
];

/** Collects a child's output and resolves with its exit code. */
export function run(child: ChildProcess): Promise<{ code: number | null; out: string }> {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

/** Starts the server with `env` inside `ns` and waits for /healthz. */
export async function startServer(
  ns: NetNamespace,
  port: number,
  env: NodeJS.ProcessEnv,
): Promise<{ url: string; stop: () => Promise<void>; log: () => string }> {
  const url = `http://${ns.innerAddress}:${port}`;
  const child = ns.spawn(SERVER_COMMAND[0], SERVER_COMMAND[1], {
    cwd: REPO_ROOT,
    env: { PORT: String(port), HOST: ns.innerAddress, LOG_LEVEL: 'warn', ...env },
  });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const done = run(child);
  let healthy = false;
  for (let i = 0; i < 200 && !healthy && child.exitCode === null; i++) {
    try {
      healthy = (await fetch(`${url}/healthz`)).ok;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  if (!healthy) {
    child.kill('SIGKILL');
    throw new Error(`server (${JSON.stringify(env)}) did not start:\n${log}`);
  }
  let stopping: Promise<unknown> | null = null;
  return {
    url,
    /** What the server has printed so far (stdout and stderr), for a failing test to show. */
    log: () => log,
    // Idempotent: callers may stop early and again in a `finally`.
    stop: async () => {
      stopping ??= (child.kill('SIGTERM'), done);
      await stopping;
    },
  };
}
