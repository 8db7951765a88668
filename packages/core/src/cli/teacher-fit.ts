// How much of the distillation teacher's embedding a student model reproduces (see
// eval/teacher-fit.ts): the student embeds every prepared crop, an affine map to the teacher's
// embedding of the same face is fitted on the faces of people outside --exclude-pairs, and R² is
// reported for those people and for the excluded ones.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { embedCrops } from '../eval/evaluate.ts';
import { loadModelForEval } from '../eval/load-model.ts';
import { readPreparedCrops } from '../eval/prepared-crops.ts';
import { teacherFit, type FitGroup } from '../eval/teacher-fit.ts';
import { fail, failWith, parseCli, readPairsOrFail } from './args.ts';

const USAGE = `usage: npm run teacher-fit -- --model <dir> --crops <prepared dir> --teacher-views <dir>
                            [--exclude-pairs <pairs file>] [--json <out.json>]
  --model          student model directory (manifest.json, or a bare model.onnx fresh from training)
  --crops          the prepared crops the student embeds (npm run prepare-crops)
  --teacher-views  a view set of the same crops (python -m fvtrain.views): view 0, the unaugmented
                   face, gives the teacher's embedding
  --exclude-pairs  the people of this pair list are left out of the fit and reported apart
                   (e.g. pairsDevTest.txt: the people training never saw)
  --json           write the report as JSON`;

const args = parseCli(
  {
    model: { type: 'string' },
    crops: { type: 'string' },
    'teacher-views': { type: 'string' },
    'exclude-pairs': { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean' },
  },
  USAGE,
);
if (!args.model || !args.crops || !args['teacher-views']) {
  fail(`--model, --crops and --teacher-views are required\n\n${USAGE}`);
}
const viewsDir = args['teacher-views'];

interface ViewsMeta {
  views: number;
  count: number;
  dim: number;
}
const readOrFail = async (file: string): Promise<Buffer> =>
  readFile(file).catch((error: unknown) => failWith(error, file));

const meta = JSON.parse(
  (await readOrFail(path.join(viewsDir, 'meta.json'))).toString('utf8'),
) as Partial<ViewsMeta>;
const { views, count, dim } = meta;
if (![views, count, dim].every((v) => Number.isInteger(v) && v! > 0)) {
  fail(`${viewsDir}/meta.json lacks positive integers views, count and dim`);
}
const teacherBytes = await readOrFail(path.join(viewsDir, 'teacher.f32'));
if (teacherBytes.length !== views! * count! * dim! * 4) {
  fail(`${viewsDir}/teacher.f32 has ${teacherBytes.length} bytes, expected ${views! * count! * dim! * 4}`);
}
const hasViews = await readOrFail(path.join(viewsDir, 'rows.u8'));
if (hasViews.length !== count) fail(`${viewsDir}/rows.u8 has ${hasViews.length} rows, expected ${count}`);
const teacherAll = new Float32Array(
  teacherBytes.buffer.slice(teacherBytes.byteOffset, teacherBytes.byteOffset + count! * dim! * 4),
);

const crops = await readPreparedCrops(args.crops).catch((error: unknown) => failWith(error, args.crops));
if (crops.size !== count) fail(`${args.crops} holds ${crops.size} crops, the view set ${count}`);

const excluded = new Set<string>();
if (args['exclude-pairs']) {
  const list = await readPairsOrFail(args['exclude-pairs']);
  for (const p of list.pairs) excluded.add(p.nameA).add(p.nameB);
}

const embedder = await loadModelForEval(args.model).catch((error: unknown) => failWith(error, args.model));
const started = performance.now();
const embeddings = await embedCrops(embedder, crops);
await embedder.close();

// Faces in crop-row order; rows the view set has no teacher embedding for are skipped.
const student: Float32Array[] = [];
const teacher: Float32Array[] = [];
const people: string[] = [];
const fitRows: number[] = [];
const unseenRows: number[] = [];
for (const [key, crop] of crops) {
  if (hasViews[crop.row] !== 1) continue;
  const name = key.slice(0, key.lastIndexOf('/'));
  const i = student.length;
  student.push(embeddings.get(key)!);
  teacher.push(teacherAll.subarray(crop.row * dim!, (crop.row + 1) * dim!));
  people.push(name);
  (excluded.has(name) ? unseenRows : fitRows).push(i);
}
const groups: FitGroup[] = [{ name: 'fit people', rows: fitRows }];
if (unseenRows.length > 0)
  groups.push({ name: `${path.basename(args['exclude-pairs']!)} people`, rows: unseenRows });

let report;
try {
  report = teacherFit({ student, teacher, people, fitRows, groups });
} catch (error) {
  failWith(error);
}
const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
for (const g of report) {
  process.stdout.write(
    `${g.name.padEnd(28)} ${String(g.faces).padStart(6)} faces, ${String(g.people).padStart(5)} people with 2+: ` +
      `R² ${pct(g.r2)}, between people ${pct(g.r2Between)}, within ${pct(g.r2Within)} ` +
      `(teacher variance between ${g.teacherVarianceBetween.toFixed(4)}, within ${g.teacherVarianceWithin.toFixed(4)})\n`,
  );
}
process.stdout.write(`time ${((performance.now() - started) / 1000).toFixed(1)}s\n`);
if (args.json) {
  await writeFile(
    args.json,
    `${JSON.stringify({ model: args.model, crops: args.crops, teacherViews: viewsDir, excludePairs: args['exclude-pairs'] ?? null, groups: report }, null, 2)}\n`,
  );
}
