// Worker thread: decode → detect → crop for files named by the parent (see extract-pool.ts).
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { FaceAligner } from '../align/face-aligner.ts';
import { HaarDetector } from '../detect/haar-detector.ts';
import { isVerificationError } from '../errors.ts';
import { extractFace } from '../face-analyzer.ts';
import { decodeGray } from '../image/decode.ts';
import { errorMessage } from './args.ts';
import type { ExtractRequest, ExtractResponse, ExtractWorkerData } from './extract-pool.ts';

const port = parentPort;
if (port === null) throw new Error('extract-worker must run in a worker thread');
const data = workerData as ExtractWorkerData;
const detector = await HaarDetector.create(data.detector);
const aligner = data.align ? await FaceAligner.load(data.align.modelDir, data.align.spec) : undefined;
port.on('message', (request: ExtractRequest) => {
  void (async (): Promise<ExtractResponse> => {
    try {
      const image = await decodeGray(await readFile(request.file));
      const face = extractFace(detector, image, { fallback: true });
      if (face === null) throw new Error('unreachable: fallback crop missing');
      // Like alignFace, but keeping whether the landmarks were trusted (prepare reports it).
      const aligned = aligner ? (await aligner.align(image, [face.box]))[0] : undefined;
      return {
        id: request.id,
        ok: true,
        crop: aligned?.crop ?? face.crop,
        ...(aligned && { aligned: aligned.aligned, landmarks: aligned.landmarks }),
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
        message: errorMessage(error),
      };
    }
  })().then((response) => port.postMessage(response));
});
port.postMessage({ ready: true });
