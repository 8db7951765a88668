// `npm run clips -- [--model <dir>] [--video <dir>]`: the shared webcam clips through the live
// path (core's analyseFrame: tracker → aligned crop → embed) against person A's reference photo. Prints each
// clip's distance range and how many frames fall within the live threshold (operatingPoints.far1e2):
// a quick check that a model tells the two people apart on webcam-like frames.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { analyseFrame } from '../face-analyzer.ts';
import { FaceVerifier } from '../face-verifier.ts';
import { FaceTracker } from '../detect/face-tracker.ts';
import { DEFAULT_MODEL_DIR, DEFAULT_MODEL_NAME } from '../model/default-model.ts';
import { normalizeCrop } from '../image/preprocess.ts';
import { euclideanDistance } from '../scoring.ts';
import { parseY4m } from '../video/y4m.ts';
import { failWith, parseCli } from './args.ts';

const USAGE = `usage: npm run clips -- [--model <dir>] [--video <dir>]
  --model  model directory (default models/${DEFAULT_MODEL_NAME})
  --video  folder with person-{a,b}_320x240_3s.y4m and person-a_reference.jpg
           (default: $FV_DATA_DIR/video, else ../shared/data/video)`;
const args = parseCli(
  { model: { type: 'string' }, video: { type: 'string' }, help: { type: 'boolean' } },
  USAGE,
);
const videoDir =
  args.video ?? path.join(process.env['FV_DATA_DIR'] ?? path.resolve('../shared/data'), 'video');
const verifier = await FaceVerifier.create({ modelDir: args.model ?? DEFAULT_MODEL_DIR }).catch(
  (error: unknown) => failWith(error),
);
try {
  const reference = await verifier.embedImage(await readFile(path.join(videoDir, 'person-a_reference.jpg')));
  const points = verifier.embedder.manifest.operatingPoints ?? {};
  const live = points['far1e2']?.threshold ?? verifier.threshold;
  console.log(`${verifier.embedder.manifest.name}: live threshold ${live.toFixed(3)} (far1e2)`);
  for (const who of ['a', 'b']) {
    const clip = parseY4m(await readFile(path.join(videoDir, `person-${who}_320x240_3s.y4m`)));
    const tracker = new FaceTracker(verifier.detector);
    const distances: number[] = [];
    for (const frame of clip.frames) {
      const face = await analyseFrame(frame, tracker, verifier.aligner);
      if (!face.crop) continue;
      const [embedding] = await verifier.embedder.embed([normalizeCrop(face.crop)]);
      distances.push(euclideanDistance(embedding!, reference.embedding));
    }
    const within = distances.filter((d) => d <= live).length;
    console.log(
      `person ${who} vs A's reference: ${distances.length} faces in ${clip.frames.length} frames, ` +
        `distance ${Math.min(...distances).toFixed(3)}–${Math.max(...distances).toFixed(3)}, ` +
        `${within} within the threshold`,
    );
  }
} finally {
  await verifier.close();
}
