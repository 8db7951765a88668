// `npm run landmark-chips -- --images <LFW dir> --out <dir>`: the landmark net's 112×112 input chips
// for LFW faces, cut by the serving code (decode → Haar box → `FaceAligner.chips`), so that the int8
// landmark net (`python -m fvtrain.quantize_landmarks`) is calibrated and checked on what it will see.
// Writes chips.u8 (count × 112 × 112 uint8), index.tsv (name, image number) and meta.json.
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LANDMARK_NET_INPUT } from '../packages/core/src/align/face-aligner.ts';
import { boxTransform, squareAround, warpSimilarity } from '../packages/core/src/align/similarity.ts';
import type { GrayImage, Rect } from '../packages/core/src/image/gray-image.ts';
import { FaceVerifier } from '../packages/core/src/face-verifier.ts';
import { decodeGray } from '../packages/core/src/image/decode.ts';
import { listLfwImages, type LfwImage } from '../packages/core/src/lfw/lfw-dataset.ts';
import { DEFAULT_MODEL_DIR } from '../packages/core/src/model/default-model.ts';
import { fail, failWith, parseCli } from '../packages/core/src/cli/args.ts';
import { Progress } from '../packages/core/src/cli/progress.ts';

const USAGE = `usage: npm run landmark-chips -- --images <dir> --out <dir> [--per-person N] [--model <dir>]
  --images      LFW-layout directory Name/Name_NNNN.jpg (default: $LFW_DIR)
  --out         output directory for chips.u8, index.tsv and meta.json
  --per-person  at most this many images of each person, the first ones (default 1)
  --model       the model directory whose landmark region is used (default: the served model)`;

const args = parseCli(
  {
    images: { type: 'string' },
    out: { type: 'string' },
    'per-person': { type: 'string' },
    model: { type: 'string' },
    help: { type: 'boolean' },
  },
  USAGE,
);
const imagesDir = args.images ?? process.env['LFW_DIR'];
if (!imagesDir) fail(`--images (or LFW_DIR) is required\n\n${USAGE}`);
if (!args.out) fail(`--out is required\n\n${USAGE}`);
const perPerson = Number(args['per-person'] ?? '1');
if (!(Number.isInteger(perPerson) && perPerson >= 1)) fail('--per-person must be a positive integer');

let images: LfwImage[];
try {
  images = await listLfwImages(imagesDir);
} catch (err) {
  failWith(err, `cannot list ${imagesDir}`);
}
const taken = new Map<string, number>();
const excluded = new Set(readFileSync('/tmp/excluded.txt', 'utf8').split('\n'));
images = images.filter((img) => {
  if (excluded.has(img.name)) return false;
  const n = taken.get(img.name) ?? 0;
  taken.set(img.name, n + 1);
  return n < perPerson;
});
if (images.length === 0) fail(`no images found under ${imagesDir}`);

let verifier: FaceVerifier;
try {
  verifier = await FaceVerifier.create({ modelDir: args.model ?? DEFAULT_MODEL_DIR });
} catch (err) {
  failWith(err, 'cannot load the model');
}
const aligner = verifier.aligner;
if (!aligner) fail('the model takes box crops: it has no landmark net');

await mkdir(args.out, { recursive: true });
const chipsFile = await open(path.join(args.out, 'chips.u8'), 'w');
const rows = ['index\tname\timage'];
const progress = new Progress('landmark-chips', images.length);
let missed = 0;
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const K = Number(process.env.K ?? '4');
function chipsOf(gray: GrayImage, box: Rect): Uint8Array {
  const side = LANDMARK_NET_INPUT;
  const out = new Uint8Array(K * side * side);
  for (let k = 0; k < K; k++) {
    const s = k === 0 ? 1 : 0.9 + 0.2 * rand();
    const w = box.width * s;
    const b = { x: box.x + box.width / 2 - w / 2 + (k === 0 ? 0 : (rand() - 0.5) * 0.16 * box.width), y: box.y + box.height / 2 - w / 2 + (k === 0 ? 0 : (rand() - 0.5) * 0.16 * box.width), width: w, height: w };
    const r = squareAround(b, aligner!.spec.landmarks.region.scale, aligner!.spec.landmarks.region.shift);
    const t = boxTransform(r, side);
    warpSimilarity(gray, t, side, side, 1, out, k * side * side, Math.min(4, Math.max(1, Math.ceil(1 / t.a - 1e-9))));
  }
  return out;
}
let unreadable = 0;
for (const img of images) {
  progress.tick(1);
  let gray;
  try {
    gray = await decodeGray(await readFile(img.file));
  } catch {
    unreadable++;
    continue;
  }
  const box = verifier.detector.detect(gray).faces[0];
  if (!box) {
    missed++;
    continue;
  }
  await chipsFile.write(chipsOf(gray, box));
  for (let k = 0; k < K; k++) rows.push(`${rows.length - 1}\t${img.name}\t${img.image}`);
}
await chipsFile.close();
await verifier.close();
const count = rows.length - 1;
await writeFile(path.join(args.out, 'index.tsv'), `${rows.join('\n')}\n`);
const meta = {
  side: LANDMARK_NET_INPUT,
  count,
  layout: 'uint8 row-major, count × side × side',
  source: path.resolve(imagesDir),
  perPerson,
  region: aligner.spec.landmarks.region,
  noFace: missed,
  unreadable,
};
await writeFile(path.join(args.out, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
process.stdout.write(
  `wrote ${count} chips to ${args.out}: ${missed} images without a face, ${unreadable} unreadable\n`,
);
