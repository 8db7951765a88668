// `npm run prepare-crops -- --images <LFW dir> --out <dir>`: writes the 62×47 face crops that
// training uses, produced by the serving pipeline (decode → detect → crop), plus an index.
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FACE_HEIGHT, FACE_WIDTH, CROP_MARGIN, FALLBACK_BOX_FRACTION } from '../image/preprocess.ts';
import { defaultAlignedCrop } from '../align/face-aligner.ts';
import { DEFAULT_HAAR_DETECTOR_OPTIONS } from '../detect/haar-detector.ts';
import { listLfwImages } from '../lfw/lfw-dataset.ts';
import { fail, parseCli } from './args.ts';
import { extractFaces } from './extract-pool.ts';
import { Progress } from './progress.ts';

const USAGE = `usage: npm run prepare-crops -- --images <dir> --out <dir> [--align <landmarks.onnx>] [--workers N] [--limit N] [--subject centre|largest]
  --images   LFW-layout directory Name/Name_NNNN.jpg (default: $LFW_DIR)
  --out      output directory for crops.u8, index.tsv, boxes.tsv (face box per crop), meta.json
  --align    landmark-aligned crops (siamese-v3 and later) with this landmark net; meta.json records
             the crop spec that the model's manifest must repeat, and landmarks.f32 holds each
             crop's 68 landmarks (float32, count × 68 × (x, y) image pixels; NaN where the
             landmarks disagreed with the box and the crop is a box crop)
  --subject  which detected face is the subject (default: centre, as served; largest: the rule
             before 2026-12, to reproduce older crops)
  --workers  worker threads (default: number of cores)
  --limit    only the first N images (for smoke runs)`;

const args = parseCli(
  {
    images: { type: 'string' },
    out: { type: 'string' },
    align: { type: 'string' },
    workers: { type: 'string' },
    limit: { type: 'string' },
    subject: { type: 'string' },
    help: { type: 'boolean' },
  },
  USAGE,
);
const imagesDir = args.images ?? process.env['LFW_DIR'];
if (!imagesDir) fail(`--images (or LFW_DIR) is required\n\n${USAGE}`);
if (!args.out) fail(`--out is required\n\n${USAGE}`);
const workers = args.workers ? Number(args.workers) : undefined;
if (workers !== undefined && !(Number.isInteger(workers) && workers > 0))
  fail('--workers must be a positive integer');

const subject = args.subject ?? DEFAULT_HAAR_DETECTOR_OPTIONS.subject;
if (subject !== 'centre' && subject !== 'largest') fail('--subject must be centre or largest');
const detectorOptions = { ...DEFAULT_HAAR_DETECTOR_OPTIONS, subject };

let images = await listLfwImages(imagesDir);
if (args.limit) images = images.slice(0, Number(args.limit));
if (images.length === 0) fail(`no images found under ${imagesDir}`);

let align: { modelDir: string; spec: ReturnType<typeof defaultAlignedCrop> } | undefined;
if (args.align) {
  let bytes: Buffer;
  try {
    bytes = await readFile(args.align);
  } catch {
    fail(`--align: cannot read ${args.align}`);
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  align = {
    modelDir: path.dirname(path.resolve(args.align)),
    spec: defaultAlignedCrop(path.basename(args.align), sha),
  };
}

await mkdir(args.out, { recursive: true });
const progress = new Progress('prepare', images.length);
const started = performance.now();
let detected = 0;
let unaligned = 0;
const results = await extractFaces(
  images.map((i) => i.file),
  {
    ...(workers !== undefined && { workers }),
    detector: { subject },
    align,
    onResult: (r) => {
      if (r.ok && r.detected) detected++;
      if (r.ok && r.aligned === false) unaligned++;
      progress.tick(1);
    },
  },
);

const crops = await open(path.join(args.out, 'crops.u8'), 'w');
const landmarkFile = align ? await open(path.join(args.out, 'landmarks.f32'), 'w') : undefined;
const untrusted = new Float32Array(136).fill(Number.NaN);
const rows = ['index\tname\timage\tdetected\tfaces'];
// Face boxes in source-image pixels, so offline tools (the teacher, alignment) can cut other crops.
const boxes = ['index\tx\ty\twidth\theight'];
const failures: string[] = [];
let index = 0;
for (let i = 0; i < images.length; i++) {
  const r = results[i]!;
  const img = images[i]!;
  if (!r.ok) {
    failures.push(`${img.file}\t${r.code}\t${r.message}`);
    continue;
  }
  await crops.write(r.crop);
  if (landmarkFile) {
    const lm = r.aligned && r.landmarks ? r.landmarks : untrusted;
    await landmarkFile.write(new Uint8Array(lm.buffer, lm.byteOffset, lm.byteLength));
  }
  rows.push(`${index}\t${img.name}\t${img.image}\t${r.detected ? 1 : 0}\t${r.faceCount}`);
  boxes.push(`${index}\t${r.box.x}\t${r.box.y}\t${r.box.width}\t${r.box.height}`);
  index++;
}
await crops.close();
await landmarkFile?.close();
await writeFile(path.join(args.out, 'index.tsv'), `${rows.join('\n')}\n`);
await writeFile(path.join(args.out, 'boxes.tsv'), `${boxes.join('\n')}\n`);
const meta = {
  height: FACE_HEIGHT,
  width: FACE_WIDTH,
  count: index,
  layout: 'uint8 row-major, count × height × width',
  normalisation: 'x / 255',
  source: path.resolve(imagesDir),
  detector: { ...detectorOptions, cascade: 'haarcascade_frontalface_default.xml' },
  crop: align
    ? { ...align.spec, fallbackBoxFraction: FALLBACK_BOX_FRACTION }
    : { ...CROP_MARGIN, fallbackBoxFraction: FALLBACK_BOX_FRACTION },
  ...(align && { landmarksDisagreed: unaligned }),
  detected,
  missedFaces: index - detected,
  failures: failures.length,
  seconds: Math.round((performance.now() - started) / 100) / 10,
};
await writeFile(path.join(args.out, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
if (failures.length > 0) await writeFile(path.join(args.out, 'failures.tsv'), `${failures.join('\n')}\n`);
process.stdout.write(
  `wrote ${index} crops to ${args.out}: ${detected} detected, ${index - detected} centred fallbacks, ${failures.length} unreadable${align ? `, ${unaligned} box crops where the landmarks disagreed` : ''}, ${meta.seconds}s\n`,
);
