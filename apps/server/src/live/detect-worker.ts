// Worker thread: each stream's frames through core's analyseFrame (detect → align → quality), with
// one FaceTracker per stream, for the streams the main thread assigns to it. See detect-pool.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { FaceAligner, FaceTracker, HaarDetector, analyseFrame, nameThisThread } from '@fv/core';
import type { DetectRequest, DetectResponse, DetectWorkerData } from './detect-pool.ts';

const port = parentPort;
if (port === null) throw new Error('detect-worker must run in a worker thread');
const data = workerData as DetectWorkerData;
nameThisThread('fv-detect');
const detector = await HaarDetector.create(data.detector);
const aligner = data.align ? await FaceAligner.load(data.align.modelDir, data.align.spec) : null;
const trackers = new Map<string, FaceTracker>();

const handle = async (request: Extract<DetectRequest, { kind: 'detect' }>): Promise<void> => {
  let response: DetectResponse;
  try {
    let tracker = trackers.get(request.stream);
    if (tracker === undefined) {
      tracker = new FaceTracker(detector);
      trackers.set(request.stream, tracker);
    }
    const frame = { width: request.width, height: request.height, data: new Uint8Array(request.data) };
    response = { id: request.id, ok: true, ...(await analyseFrame(frame, tracker, aligner)) };
  } catch (error) {
    response = { id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(response, response.ok && response.crop ? [response.crop.buffer as ArrayBuffer] : []);
};

port.on('message', (request: DetectRequest) => {
  if (request.kind === 'release') {
    trackers.delete(request.stream);
    return;
  }
  void handle(request);
});
port.postMessage({ ready: true });
