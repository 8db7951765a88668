// `tsx packages/teacher/src/cli/embed.ts --crops <prepared dir> --images <LFW dir> --out <dir>`
// Runs the face-api teacher over LFW images (the faces `prepare-crops` found) and writes an
// embedding cache that `npm run eval -- --embeddings <dir>` scores and fvtrain distils from.
import { mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  alignmentTransform,
  boxTransform,
  decodeGray,
  parsePairs,
  resampleRegion,
  squareAround,
  warpSimilarity,
  type GrayImage,
  type Rect,
} from '@fv/core';
import {
  LANDMARK_INPUT,
  LFW_CENTRE_BOX,
  TEACHER_CHIP,
  TEACHER_DIM,
  loadTeacher,
} from '../face-api-teacher.ts';

const USAGE = `usage: tsx packages/teacher/src/cli/embed.ts --images <dir> --out <dir> [--crops <dir>]
  [--pairs a.txt,b.txt] [--exclude-pairs c.txt] [--align] [--scale 1.5] [--shift 0.1] [--batch 16]
  [--shard i/n] [--limit N]
  --images  LFW-layout image directory
  --crops   a 'prepare-crops' directory: use its Haar boxes (boxes.tsv); without it every image
            uses LFW's fixed centre box (${JSON.stringify(LFW_CENTRE_BOX)}, the median Haar box)
  --out     cache directory: embeddings.f32 (N×128), index.tsv, landmarks.f32 (N×136), meta.json
  --pairs   only the images of these pair lists
  --exclude-pairs  skip the images of these pair lists
  --shard   i/n: every n-th image starting at i (run n processes, then merge-cache)
  --align   landmark-aligned chips (dlib alignment) instead of the box chip
  --scale   box chip side / Haar box width (also the landmark net's input region)
  --shift   box chip centre moved down by this fraction of the box height
  --resolution N  degrade each chip to N×N pixels and back (what the teacher loses at the
            student's input resolution; a diagnostic)`;

const { values: args } = parseArgs({
  options: {
    crops: { type: 'string' },
    images: { type: 'string' },
    out: { type: 'string' },
    pairs: { type: 'string' },
    'exclude-pairs': { type: 'string' },
    shard: { type: 'string' },
    align: { type: 'boolean', default: false },
    scale: { type: 'string', default: '1.5' },
    shift: { type: 'string', default: '0.1' },
    padding: { type: 'string', default: '0.25' },
    batch: { type: 'string', default: '16' },
    limit: { type: 'string' },
    resolution: { type: 'string' },
  },
});
if (!args.images || !args.out) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}
const scale = Number(args.scale);
const shift = Number(args.shift);
const padding = Number(args.padding);
const batch = Number(args.batch);
const resolution = args.resolution ? Number(args.resolution) : undefined;

interface Item {
  name: string;
  image: number;
  detected: string;
  faces: string;
  box: Rect;
}
let items: Item[];
if (args.crops) {
  const index = (await readFile(path.join(args.crops, 'index.tsv'), 'utf8')).trim().split('\n').slice(1);
  const boxRows = (await readFile(path.join(args.crops, 'boxes.tsv'), 'utf8')).trim().split('\n').slice(1);
  items = index.map((line, i) => {
    const [, name, image, detected, faces] = line.split('\t');
    const [, x, y, width, height] = boxRows[i]!.split('\t').map(Number);
    return {
      name: name!,
      image: Number(image),
      detected: detected!,
      faces: faces!,
      box: { x: x!, y: y!, width: width!, height: height! },
    };
  });
} else {
  items = [];
  for (const name of (await readdir(args.images)).sort()) {
    for (const file of (await readdir(path.join(args.images, name))).sort()) {
      const m = /^(.*)_(\d{4})\.jpg$/.exec(file);
      if (m) items.push({ name, image: Number(m[2]), detected: '1', faces: '1', box: LFW_CENTRE_BOX });
    }
  }
}
const pairKeys = async (files: string): Promise<Set<string>> => {
  const keys = new Set<string>();
  for (const file of files.split(',')) {
    for (const p of parsePairs(await readFile(file, 'utf8')).pairs) {
      keys.add(`${p.nameA}/${p.imageA}`);
      keys.add(`${p.nameB}/${p.imageB}`);
    }
  }
  return keys;
};
if (args.pairs) {
  const wanted = await pairKeys(args.pairs);
  items = items.filter((it) => wanted.has(`${it.name}/${it.image}`));
}
if (args['exclude-pairs']) {
  const unwanted = await pairKeys(args['exclude-pairs']);
  items = items.filter((it) => !unwanted.has(`${it.name}/${it.image}`));
}
if (args.shard) {
  const [i, n] = args.shard.split('/').map(Number);
  items = items.filter((_, k) => k % n! === i);
}
if (args.limit) items = items.slice(0, Number(args.limit));

const teacher = await loadTeacher();
await mkdir(args.out, { recursive: true });
const embFile = await open(path.join(args.out, 'embeddings.f32'), 'w');
const lmFile = await open(path.join(args.out, 'landmarks.f32'), 'w');
const started = performance.now();
const chipBytes = TEACHER_CHIP * TEACHER_CHIP * 3;
for (let start = 0; start < items.length; start += batch) {
  const slice = items.slice(start, start + batch);
  const images = await Promise.all(
    slice.map(async (it) =>
      decodeGray(
        await readFile(
          path.join(args.images!, it.name, `${it.name}_${String(it.image).padStart(4, '0')}.jpg`),
        ),
      ),
    ),
  );
  const regions = slice.map((it) => squareAround(it.box, scale, shift));
  // Landmarks on the box region, mapped back to image pixels.
  const lmChips = new Uint8Array(slice.length * LANDMARK_INPUT * LANDMARK_INPUT * 3);
  images.forEach((img, i) =>
    warpSimilarity(
      img,
      boxTransform(regions[i]!, LANDMARK_INPUT),
      LANDMARK_INPUT,
      LANDMARK_INPUT,
      3,
      lmChips,
      i * LANDMARK_INPUT * LANDMARK_INPUT * 3,
    ),
  );
  const rel = teacher.landmarks(lmChips, slice.length, LANDMARK_INPUT);
  const landmarks = new Float32Array(slice.length * 136);
  for (let i = 0; i < slice.length; i++) {
    const r = regions[i]!;
    for (let k = 0; k < 68; k++) {
      landmarks[i * 136 + 2 * k] = r.x + rel[i * 136 + 2 * k]! * r.width;
      landmarks[i * 136 + 2 * k + 1] = r.y + rel[i * 136 + 2 * k + 1]! * r.height;
    }
  }
  const chips = new Uint8Array(slice.length * chipBytes);
  images.forEach((img, i) => {
    const t = args.align
      ? alignmentTransform(landmarks.subarray(i * 136, (i + 1) * 136), TEACHER_CHIP, padding)
      : boxTransform(regions[i]!, TEACHER_CHIP);
    if (resolution === undefined) {
      warpSimilarity(img, t, TEACHER_CHIP, TEACHER_CHIP, 3, chips, i * chipBytes);
      return;
    }
    // Down to resolution×resolution (area average), then back up (bilinear).
    const small: GrayImage = {
      width: resolution,
      height: resolution,
      data: resampleRegion(
        {
          width: TEACHER_CHIP,
          height: TEACHER_CHIP,
          data: warpSimilarity(img, t, TEACHER_CHIP, TEACHER_CHIP),
        },
        { x: 0, y: 0, width: TEACHER_CHIP, height: TEACHER_CHIP },
        resolution,
        resolution,
      ),
    };
    const up = resolution / TEACHER_CHIP;
    warpSimilarity(
      small,
      { a: 1 / up, b: 0, tx: 0, ty: 0 },
      TEACHER_CHIP,
      TEACHER_CHIP,
      3,
      chips,
      i * chipBytes,
    );
  });
  const emb = teacher.describe(chips, slice.length);
  if (emb.length !== slice.length * TEACHER_DIM) throw new Error(`teacher returned ${emb.length} values`);
  await embFile.write(new Uint8Array(emb.buffer, emb.byteOffset, emb.byteLength));
  await lmFile.write(new Uint8Array(landmarks.buffer));
  const done = start + slice.length;
  if (Math.floor(done / 512) !== Math.floor(start / 512) || done === items.length) {
    const s = (performance.now() - started) / 1000;
    process.stderr.write(`teacher ${done}/${items.length} ${(done / s).toFixed(1)} faces/s\n`);
  }
}
await embFile.close();
await lmFile.close();
await writeFile(
  path.join(args.out, 'index.tsv'),
  `index\tname\timage\tdetected\tfaces\n${items.map((it, i) => `${i}\t${it.name}\t${it.image}\t${it.detected}\t${it.faces}`).join('\n')}\n`,
);
const seconds = (performance.now() - started) / 1000;
await writeFile(
  path.join(args.out, 'meta.json'),
  `${JSON.stringify(
    {
      model: '@vladmandic/face-api 1.7.15 faceRecognitionNet (dlib ResNet, 128-d) + faceLandmark68Net',
      backend: teacher.backend,
      dim: TEACHER_DIM,
      count: items.length,
      layout: 'float32 little-endian, count × dim; landmarks.f32 count × 68 × (x,y) image pixels',
      input: 'gray replicated to RGB',
      chip: args.align
        ? { kind: 'aligned', size: TEACHER_CHIP, padding, landmarkRegion: { scale, shift } }
        : { kind: 'box', size: TEACHER_CHIP, scale, shift },
      ...(resolution !== undefined && { degradedTo: resolution }),
      boxes: args.crops ? `Haar boxes from ${path.resolve(args.crops)}` : { lfwCentreBox: LFW_CENTRE_BOX },
      seconds: Math.round(seconds * 10) / 10,
      facesPerSecond: Math.round((items.length / seconds) * 10) / 10,
    },
    null,
    2,
  )}\n`,
);
process.stderr.write(`wrote ${items.length} embeddings to ${args.out} in ${seconds.toFixed(1)}s\n`);
