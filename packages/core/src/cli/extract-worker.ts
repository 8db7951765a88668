// Worker thread: decode → detect → crop for files named by the parent (see extract-pool.ts).
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { HaarDetector, type HaarDetectorOptions } from '../detect/haar-detector.ts';
import { isVerificationError } from '../errors.ts';
import { extractFace } from '../face-analyzer.ts';
import { decodeGray } from '../image/decode.ts';
import type { ExtractRequest, ExtractResponse } from './extract-pool.ts';

const port = parentPort;
if (port === null) throw new Error('extract-worker must run in a worker thread');
const detector = await HaarDetector.create(workerData as HaarDetectorOptions);
port.on('message', (request: ExtractRequest) => {
  void (async (): Promise<ExtractResponse> => {
    try {
      const image = await decodeGray(await readFile(request.file));
      const face = extractFace(detector, image, { fallback: true });
      if (face === null) throw new Error('unreachable: fallback crop missing');
      return {
        id: request.id,
        ok: true,
        crop: face.crop,
        box: face.box,
        detected: face.detected,
        faceCount: face.faceCount,
      };
    } catch (error) {
      const code = isVerificationError(error) ? error.code : 'INTERNAL';
      return {
        id: request.id,
        ok: false,
        code,
        message: error instanceof Error ? error.message : String(error),
      };
    }
  })().then((response) => port.postMessage(response));
});
port.postMessage({ ready: true });
