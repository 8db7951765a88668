import { availableParallelism } from 'node:os';
import type { AlignedCropSpec } from '../align/face-aligner.ts';
import type { HaarDetectorOptions } from '../detect/haar-detector.ts';
import type { Rect } from '../image/gray-image.ts';
import { siblingEntry, startWorker } from '../worker/worker-entry.ts';

export interface ExtractRequest {
  readonly id: number;
  readonly file: string;
}

export type ExtractResponse =
  | {
      id: number;
      ok: true;
      crop: Uint8Array;
      /** The face box the crop was cut around (the fallback box when nothing was detected). */
      box: Rect;
      detected: boolean;
      faceCount: number;
      /** With alignment: whether the landmarks were used (false: they disagreed with the box). */
      aligned?: boolean;
      /** With alignment: the 68 landmarks (image pixels, `[x0,y0,…]`), trusted or not. */
      landmarks?: Float32Array;
    }
  | { id: number; ok: false; code: string; message: string };

export interface ExtractWorkerData {
  readonly detector: HaarDetectorOptions;
  /** Cut landmark-aligned crops (the model directory holds the spec's landmark net). */
  readonly align?: { readonly modelDir: string; readonly spec: AlignedCropSpec } | undefined;
}

/**
 * Runs decode → detect → crop over many files on worker threads (detection is CPU-bound and
 * synchronous). Results are returned in input order.
 */
export async function extractFaces(
  files: readonly string[],
  {
    workers = availableParallelism(),
    detector = {},
    align,
    onResult,
  }: {
    workers?: number;
    detector?: HaarDetectorOptions;
    align?: ExtractWorkerData['align'];
    onResult?: (r: ExtractResponse) => void;
  } = {},
): Promise<ExtractResponse[]> {
  const results: ExtractResponse[] = new Array(files.length);
  let next = 0;
  const count = Math.max(1, Math.min(workers, files.length));
  const runOne = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = startWorker(siblingEntry('extract-worker', import.meta.url), {
        detector,
        align,
      } satisfies ExtractWorkerData);
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
