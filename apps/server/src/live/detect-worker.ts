// Worker thread: face detection (with one FaceTracker per stream), crop and quality flags for the
// streams the main thread assigns to it. See detect-pool.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { FaceTracker, HaarDetector, assessQuality, extractFace, type HaarDetectorOptions } from '@fv/core';
import type { DetectRequest, DetectResponse } from './detect-pool.ts';

const port = parentPort;
if (port === null) throw new Error('detect-worker must run in a worker thread');
const detector = await HaarDetector.create(workerData as HaarDetectorOptions);
const trackers = new Map<string, FaceTracker>();

port.on('message', (request: DetectRequest) => {
  if (request.kind === 'release') {
    trackers.delete(request.stream);
    return;
  }
  let response: DetectResponse;
  try {
    let tracker = trackers.get(request.stream);
    if (tracker === undefined) {
      tracker = new FaceTracker(detector);
      trackers.set(request.stream, tracker);
    }
    const frame = { width: request.width, height: request.height, data: new Uint8Array(request.data) };
    const t0 = performance.now();
    const face = extractFace(tracker, frame);
    const detectMs = performance.now() - t0;
    response = face
      ? {
          id: request.id,
          ok: true,
          faceCount: face.faceCount,
          box: face.box,
          crop: face.crop,
          quality: assessQuality(face.crop, face.box, frame),
          detectMs,
        }
      : { id: request.id, ok: true, faceCount: 0, box: null, crop: null, quality: [], detectMs };
  } catch (error) {
    response = { id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(response, response.ok && response.crop ? [response.crop.buffer as ArrayBuffer] : []);
});
port.postMessage({ ready: true });
