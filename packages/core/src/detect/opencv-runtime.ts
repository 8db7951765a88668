import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The subset of the OpenCV.js (WASM) API the detector uses. */
export interface CvMat {
  data: Uint8Array;
  delete(): void;
}
export interface CvRect {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface CvRectVector {
  size(): number;
  get(i: number): CvRect;
  delete(): void;
}
export interface CvCascadeClassifier {
  load(path: string): boolean;
  empty(): boolean;
  detectMultiScale(
    image: CvMat,
    objects: CvRectVector,
    scaleFactor: number,
    minNeighbors: number,
    flags: number,
    minSize: unknown,
    maxSize: unknown,
  ): void;
  delete(): void;
}
export interface OpenCv {
  calledRun?: boolean;
  CV_8UC1: number;
  Mat: new (rows: number, cols: number, type: number) => CvMat;
  RectVector: new () => CvRectVector;
  Size: new (width: number, height: number) => unknown;
  CascadeClassifier: new () => CvCascadeClassifier;
  equalizeHist(src: CvMat, dst: CvMat): void;
  FS_createDataFile(
    parent: string,
    name: string,
    data: Uint8Array,
    canRead: boolean,
    canWrite: boolean,
    canOwn: boolean,
  ): void;
  FS_unlink(path: string): void;
}

// Held in a box: resolving a promise with the (thenable) module object itself would hang.
let loading: Promise<{ cv: OpenCv }> | undefined;

/**
 * Loads OpenCV.js once per process. The module object is a thenable that never settles, so it
 * must not be awaited; readiness is signalled by `calledRun`.
 */
export async function loadOpenCv(timeoutMs = 30_000): Promise<OpenCv> {
  loading ??= new Promise<{ cv: OpenCv }>((resolve, reject) => {
    let cv: OpenCv;
    // The Emscripten bundle installs process-wide handlers that turn any unhandled rejection in
    // the host process into an abort (and rethrow uncaught exceptions). The host owns those
    // decisions, so the handlers it adds are removed again.
    const host = process as NodeJS.EventEmitter;
    const events = ['unhandledRejection', 'uncaughtException'] as const;
    const before = new Map(events.map((event) => [event, new Set(host.listeners(event))]));
    try {
      cv = require('@techstark/opencv-js') as OpenCv;
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
      return;
    } finally {
      for (const event of events) {
        for (const listener of host.listeners(event)) {
          if (!before.get(event)!.has(listener))
            host.removeListener(event, listener as (...args: unknown[]) => void);
        }
      }
    }
    const started = Date.now();
    const poll = (): void => {
      if (cv.calledRun) {
        // Once initialised, drop the never-settling `then` so the object can pass through
        // promises and async functions safely.
        delete (cv as { then?: unknown }).then;
        resolve({ cv });
      } else if (Date.now() - started > timeoutMs) {
        reject(new Error(`OpenCV.js did not initialise within ${timeoutMs} ms`));
      } else {
        setTimeout(poll, 5);
      }
    };
    poll();
  });
  return (await loading).cv;
}
