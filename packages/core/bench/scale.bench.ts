// `npm run bench:scale`: does the detector find faces at any distance? LFW DevTest faces (people the
// model never saw) pasted at face widths 40–400 px into 640×480, 1280×720 and 1920×1080 canvases,
// detected with the fine pass off (the coarse pass alone, as before 2026-12) and on (the default).
//
// - Faces: a seeded sample of DevTest people (one image each, the first of theirs the pair list
//   names). The face box is the coarse Haar box on the 250×250 original (the subject, nearest the
//   centre), else the central 110 px square. A region 1.8× the box (clipped to the original) is
//   pasted, area-resampled so the box is the given width, at a seeded random place where the whole
//   box is inside the canvas (the context around it is clipped at the canvas edge).
// - Background: `gray` (plain 128, the default) or `noise` (each 4×4 block one random level in
//   96–160: texture at the scales the cascade searches, a worst case for its cost).
// - Found: a detection whose IoU with the pasted box is ≥ 0.3 or whose centre lies inside it.
//   `first`: the detector's first face (the subject the service embeds) is that one.
// - Times: the whole `detect` call (both passes when the fine pass runs): wall-clock median and p95,
//   and the median CPU time of the process during the call (less sensitive to other load), ms.
//   `blank` rows: canvases with no face (the fine pass always runs there). `fine runs (cut by
//   budget)`: calls that ran the fine pass, and those the time budget stopped early.
//
// Env: SCALE_PEOPLE (200), SCALE_SEED (1), SCALE_BG (gray | noise), SCALE_BLANKS (20), SCALE_CANVASES
// (640x480,1280x720,1920x1080), SCALE_WIDTHS (40,48,64,96,128,192,256,400; a subset places faces
// elsewhere: the seeded placements follow the order of the rows), and detector
// options for experiments: SCALE_FINE_MIN_FACE, SCALE_FINE_MAX_SIDE, SCALE_FINE_BUDGET_MS,
// SCALE_FINE_SCALE_FACTOR.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  HaarDetector,
  decodeGray,
  parsePairs,
  resampleRegion,
  type GrayImage,
  type HaarDetectorOptions,
  type Rect,
} from '../src/index.ts';
import { mulberry32 } from '../src/liveness/presentations.ts';

const dataDir = process.env['FV_DATA_DIR'] ?? path.resolve('../shared/data');
const PEOPLE = Number(process.env['SCALE_PEOPLE'] ?? 200);
const SEED = Number(process.env['SCALE_SEED'] ?? 1);
const BACKGROUND = process.env['SCALE_BG'] ?? 'gray';
const BLANKS = Number(process.env['SCALE_BLANKS'] ?? 20);
if (BACKGROUND !== 'gray' && BACKGROUND !== 'noise') throw new Error('SCALE_BG must be gray or noise');
const CANVASES: [number, number][] = (process.env['SCALE_CANVASES'] ?? '640x480,1280x720,1920x1080')
  .split(',')
  .map((c) => c.split('x').map(Number) as [number, number]);
const WIDTHS = (process.env['SCALE_WIDTHS'] ?? '40,48,64,96,128,192,256,400').split(',').map(Number);
if (![...CANVASES.flat(), ...WIDTHS].every((n) => Number.isInteger(n) && n > 0)) {
  throw new Error('SCALE_CANVASES is WxH,… and SCALE_WIDTHS px,… (positive integers)');
}
const CONTEXT = 1.8;

const envNumber = (name: string): number | undefined =>
  process.env[name] === undefined ? undefined : Number(process.env[name]);
const fineOptions: HaarDetectorOptions = Object.fromEntries(
  Object.entries({
    fineMinFace: envNumber('SCALE_FINE_MIN_FACE'),
    fineMaxSide: envNumber('SCALE_FINE_MAX_SIDE'),
    fineBudgetMs: envNumber('SCALE_FINE_BUDGET_MS'),
    fineScaleFactor: envNumber('SCALE_FINE_SCALE_FACTOR'),
  }).filter(([, v]) => v !== undefined),
);

const random = mulberry32(SEED);

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const iou = (a: Rect, b: Rect): number => {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  return (w * h) / (a.width * a.height + b.width * b.height - w * h);
};
const hits = (d: Rect, truth: Rect): boolean => {
  const cx = d.x + d.width / 2;
  const cy = d.y + d.height / 2;
  const inside =
    cx >= truth.x && cx <= truth.x + truth.width && cy >= truth.y && cy <= truth.y + truth.height;
  return inside || iou(d, truth) >= 0.3;
};

function background(width: number, height: number): GrayImage {
  const data = new Uint8Array(width * height).fill(128);
  if (BACKGROUND === 'noise') {
    const bw = Math.ceil(width / 4);
    const blocks = Float64Array.from({ length: bw * Math.ceil(height / 4) }, () => 96 + random() * 64);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) data[y * width + x] = blocks[(y >> 2) * bw + (x >> 2)]!;
    }
  }
  return { width, height, data };
}

// The sample: DevTest people, shuffled with the seed, one image each.
const pairs = parsePairs(readFileSync(path.join(dataDir, 'lfw-pairs', 'pairsDevTest.txt'), 'utf8')).pairs;
const firstImage = new Map<string, number>();
for (const p of pairs) {
  if (!firstImage.has(p.nameA)) firstImage.set(p.nameA, p.imageA);
  if (!firstImage.has(p.nameB)) firstImage.set(p.nameB, p.imageB);
}
const people = [...firstImage.keys()].sort();
for (let i = people.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1));
  [people[i], people[j]] = [people[j]!, people[i]!];
}
const sample = people.slice(0, PEOPLE);

const coarse = await HaarDetector.create({ finePass: false });
const fine = await HaarDetector.create({ ...fineOptions, finePass: true });
console.log(
  `scale sweep: ${sample.length} DevTest people (of ${people.length}), seed ${SEED}, ${BACKGROUND} background; ` +
    `fine pass ${JSON.stringify({ fineMinFace: fine.options.fineMinFace, fineMaxSide: fine.options.fineMaxSide, fineBudgetMs: fine.options.fineBudgetMs, fineScaleFactor: fine.options.fineScaleFactor })}`,
);

interface Face {
  image: GrayImage;
  box: Rect;
  boxFromHaar: boolean;
}
const faces: Face[] = [];
for (const name of sample) {
  const file = path.join(
    dataDir,
    'lfw',
    name,
    `${name}_${String(firstImage.get(name)).padStart(4, '0')}.jpg`,
  );
  const image = await decodeGray(readFileSync(file));
  const found = coarse.detect(image).faces[0];
  const c = Math.min(image.width, image.height) / 2;
  faces.push({
    image,
    box: found ?? { x: image.width / 2 - 55, y: c - 55, width: 110, height: 110 },
    boxFromHaar: found !== undefined,
  });
}

/** Pastes `face` so its box is `width` wide at a random place in a fresh canvas; returns the canvas and the box. */
function paste(face: Face, cw: number, ch: number, width: number): { canvas: GrayImage; truth: Rect } {
  const canvas = background(cw, ch);
  const k = width / face.box.width;
  const side = face.box.width * CONTEXT;
  const cx = face.box.x + face.box.width / 2;
  const cy = face.box.y + face.box.height / 2;
  const x0 = Math.max(0, cx - side / 2);
  const y0 = Math.max(0, cy - side / 2);
  const x1 = Math.min(face.image.width, cx + side / 2);
  const y1 = Math.min(face.image.height, cy + side / 2);
  const region = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
  const pw = Math.max(1, Math.round(region.width * k));
  const ph = Math.max(1, Math.round(region.height * k));
  const patch = resampleRegion(face.image, region, pw, ph);
  const truth = {
    x: Math.floor(random() * (cw - width + 1)),
    y: Math.floor(random() * (ch - width + 1)),
    width,
    height: width * (face.box.height / face.box.width),
  };
  const px = Math.round(truth.x - (face.box.x - region.x) * k);
  const py = Math.round(truth.y - (face.box.y - region.y) * k);
  for (let y = Math.max(0, -py); y < ph && py + y < ch; y++) {
    const from = Math.max(0, -px);
    const to = Math.min(pw, cw - px);
    if (to > from) canvas.data.set(patch.subarray(y * pw + from, y * pw + to), (py + y) * cw + px + from);
  }
  return { canvas, truth };
}

interface Tally {
  found: number;
  first: number;
  ms: number[];
  cpu: number[];
  fineRuns: number;
  incomplete: number;
}
const tally = (): Tally => ({ found: 0, first: 0, ms: [], cpu: [], fineRuns: 0, incomplete: 0 });
/** One detection of `canvas`, its wall and CPU time added to `t`. */
function timedDetect(
  detector: HaarDetector,
  canvas: GrayImage,
  t: Tally,
): ReturnType<HaarDetector['detect']> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const d = detector.detect(canvas);
  t.ms.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  t.cpu.push((c.user + c.system) / 1000);
  if (d.fine) {
    t.fineRuns++;
    if (!d.fine.complete) t.incomplete++;
  }
  return d;
}
const pct = (n: number, d: number): string => `${((100 * n) / d).toFixed(1)}%`;
/** Wall-clock p50 and p95, CPU p50 (ms). */
const times = (t: Tally): string =>
  `${quantile(t.ms, 0.5).toFixed(1).padStart(6)} ${quantile(t.ms, 0.95).toFixed(1).padStart(6)} ${quantile(t.cpu, 0.5).toFixed(1).padStart(6)}`;

// Warm-up (WASM compilation, first allocations).
for (const [cw, ch] of CANVASES) {
  const { canvas } = paste(faces[0]!, cw, ch, 64);
  coarse.detect(canvas);
  fine.detect(canvas);
}

const rows: string[] = [];
const header =
  'canvas      face px  images | before: found  first    p50    p95    cpu | after: found  first    p50    p95    cpu  fine runs (cut by budget)';
let worstAt48 = 1;
for (const [cw, ch] of CANVASES) {
  for (const width of WIDTHS) {
    const before = tally();
    const after = tally();
    for (const face of faces) {
      const { canvas, truth } = paste(face, cw, ch, width);
      for (const [detector, t] of [
        [coarse, before],
        [fine, after],
      ] as const) {
        const d = timedDetect(detector, canvas, t);
        if (d.faces.some((f) => hits(f, truth))) t.found++;
        if (d.faces[0] !== undefined && hits(d.faces[0], truth)) t.first++;
      }
    }
    const n = faces.length;
    if (width >= 48) worstAt48 = Math.min(worstAt48, after.found / n);
    rows.push(
      `${`${cw}×${ch}`.padEnd(11)} ${String(width).padStart(7)}  ${String(n).padStart(6)} | ` +
        `${pct(before.found, n).padStart(13)} ${pct(before.first, n).padStart(6)} ${times(before)} | ` +
        `${pct(after.found, n).padStart(12)} ${pct(after.first, n).padStart(6)} ${times(after)}  ` +
        `${String(after.fineRuns).padStart(9)} (${after.incomplete})`,
    );
  }
  // Blank canvases: the cost of a frame without a face, and false detections there.
  const before = tally();
  const after = tally();
  for (let i = 0; i < BLANKS; i++) {
    const canvas = background(cw, ch);
    for (const [detector, t] of [
      [coarse, before],
      [fine, after],
    ] as const) {
      if (timedDetect(detector, canvas, t).faces.length > 0) t.found++;
    }
  }
  rows.push(
    `${`${cw}×${ch}`.padEnd(11)} ${'blank'.padStart(7)}  ${String(BLANKS).padStart(6)} | ` +
      `${`${before.found} w/ face`.padStart(13)} ${''.padStart(6)} ${times(before)} | ` +
      `${`${after.found} w/ face`.padStart(12)} ${''.padStart(6)} ${times(after)}  ` +
      `${String(after.fineRuns).padStart(9)} (${after.incomplete})`,
  );
}
coarse.close();
fine.close();
console.log(
  `face boxes from the Haar detector on the original: ${faces.filter((f) => f.boxFromHaar).length} of ${faces.length}`,
);
console.log(header);
for (const row of rows) console.log(row);
console.log(`lowest found rate after, at ≥ 48 px: ${pct(worstAt48, 1)} (target ≥ 99%)`);
