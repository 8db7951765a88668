import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread whose entry is TypeScript source. Node 20 does not apply `--import`
 * loaders to a worker's entry reliably, so a tiny bootstrap registers tsx first and then imports
 * the real entry. (A compiled build would start `entry` directly.)
 */
export function startTsWorker(entry: URL, workerData?: unknown): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
