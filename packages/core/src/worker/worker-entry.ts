import { writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/**
 * Where a thread or process entry that sits beside the calling module is: `./<name>.ts` when the
 * caller runs from TypeScript source (tests, `npm run dev`, the CLIs under tsx), `./<name>.js` when
 * it runs from the build (`npm start`: apps/server/build.mjs writes every entry flat, side by side).
 */
export function siblingEntry(name: string, callerUrl: string): URL {
  const extension = new URL(callerUrl).pathname.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${extension}`, callerUrl);
}

const isTypeScript = (entry: URL): boolean => entry.pathname.endsWith('.ts');

/**
 * `execArgv` for `child_process.fork(entry)`: a TypeScript entry needs the tsx loader, a built one
 * nothing (production never loads a transpiler).
 */
export function loaderArgs(entry: URL): string[] {
  return isTypeScript(entry) ? ['--import', import.meta.resolve('tsx')] : [];
}

/**
 * Starts a worker thread on `entry`. A TypeScript entry goes through a tiny bootstrap that
 * registers tsx first and then imports it (Node 20 does not apply `--import` loaders to a worker's
 * entry reliably); a built `.js` entry starts directly.
 */
export function startWorker(entry: URL, workerData?: unknown): Worker {
  if (!isTypeScript(entry)) return new Worker(entry, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/**
 * Names the calling thread (Linux: what `top -H`, `ps -L` and /proc show; at most 15 bytes), so
 * an operator, or a benchmark reading /proc, can tell the detect workers from the runtime's own
 * threads. Elsewhere, or without /proc, it does nothing.
 */
export function nameThisThread(name: string): void {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15));
  } catch {
    // Not Linux, or /proc not mounted: the thread keeps its inherited name.
  }
}
