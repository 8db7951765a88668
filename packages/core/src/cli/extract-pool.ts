import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HaarDetectorOptions } from '../detect/haar-detector.ts';

export interface ExtractRequest {
  readonly id: number;
  readonly file: string;
}

export type ExtractResponse =
  | { id: number; ok: true; crop: Uint8Array; detected: boolean; faceCount: number }
  | { id: number; ok: false; code: string; message: string };

// The worker is TypeScript source. Node 20 does not apply `--import` loaders to a worker's entry
// reliably, so a tiny bootstrap registers tsx first and then imports the real entry.
const WORKER_ENTRY = new URL('./extract-worker.ts', import.meta.url).href;
const TSX_API = import.meta.resolve('tsx/esm/api');
const WORKER_BOOTSTRAP = `import(${JSON.stringify(TSX_API)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_ENTRY)}); });`;

/**
 * Runs decode → detect → crop over many files on worker threads (detection is CPU-bound and
 * synchronous). Results are returned in input order.
 */
export async function extractFaces(
  files: readonly string[],
  {
    workers = availableParallelism(),
    detector = {},
    onResult,
  }: { workers?: number; detector?: HaarDetectorOptions; onResult?: (r: ExtractResponse) => void } = {},
): Promise<ExtractResponse[]> {
  const results: ExtractResponse[] = new Array(files.length);
  let next = 0;
  const count = Math.max(1, Math.min(workers, files.length));
  const runOne = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(WORKER_BOOTSTRAP, { eval: true, workerData: detector });
      const send = (): void => {
        if (next >= files.length) {
          void worker.terminate().then(() => resolve());
          return;
        }
        const id = next++;
        worker.postMessage({ id, file: files[id]! } satisfies ExtractRequest);
      };
      worker.on('message', (message: ExtractResponse | { ready: true }) => {
        if ('ready' in message) {
          send();
          return;
        }
        results[message.id] = message;
        onResult?.(message);
        send();
      });
      worker.on('error', reject);
    });
  await Promise.all(Array.from({ length: count }, runOne));
  return results;
}
