/**
 * How much of a distillation teacher's embedding a student reproduces: an affine least-squares map
 * from the student's embedding to the teacher's, fitted on one set of faces and scored (R², the share
 * of the teacher's centred variance explained) on each group of faces, in total, between people
 * (per-person means) and within people (each face's deviation from its person's mean).
 */

export interface FitGroup {
  readonly name: string;
  /** Row indices of the faces in this group. */
  readonly rows: readonly number[];
}

export interface GroupFit {
  readonly name: string;
  readonly faces: number;
  /** People with two or more faces in the group (the between/within split uses only those). */
  readonly people: number;
  readonly r2: number;
  readonly r2Between: number;
  readonly r2Within: number;
  /** The teacher's own variance per face, summed over dimensions, between and within people. */
  readonly teacherVarianceBetween: number;
  readonly teacherVarianceWithin: number;
}

export interface TeacherFitInput {
  /** Student embeddings, one row per face. */
  readonly student: readonly Float32Array[];
  /** Teacher embeddings of the same faces, same order. */
  readonly teacher: readonly Float32Array[];
  /** The person of each face. */
  readonly people: readonly string[];
  /** Rows the map is fitted on. */
  readonly fitRows: readonly number[];
  readonly groups: readonly FitGroup[];
  /** Ridge added to the normal equations' diagonal (relative to its mean), for rank-deficient inputs. */
  readonly ridge?: number;
}

/** Solves the symmetric positive definite system A x = b in place by Cholesky (A: n×n row-major). */
function choleskySolve(a: Float64Array, n: number, b: Float64Array, columns: number): Float64Array {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= a[j * n + k]! ** 2;
    if (!(d > 0)) throw new RangeError('normal equations are not positive definite');
    const l = Math.sqrt(d);
    a[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= a[i * n + k]! * a[j * n + k]!;
      a[i * n + j] = s / l;
    }
  }
  const x = Float64Array.from(b);
  for (let c = 0; c < columns; c++) {
    for (let i = 0; i < n; i++) {
      let s = x[i * columns + c]!;
      for (let k = 0; k < i; k++) s -= a[i * n + k]! * x[k * columns + c]!;
      x[i * columns + c] = s / a[i * n + i]!;
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = x[i * columns + c]!;
      for (let k = i + 1; k < n; k++) s -= a[k * n + i]! * x[k * columns + c]!;
      x[i * columns + c] = s / a[i * n + i]!;
    }
  }
  return x;
}

/** Affine least squares: W ((d+1)×t, the last row the offset) minimising ‖[S 1] W − T‖² on `rows`. */
function fitAffine(
  student: readonly Float32Array[],
  teacher: readonly Float32Array[],
  rows: readonly number[],
  ridge: number,
): Float64Array {
  const d = student[rows[0]!]!.length + 1;
  const t = teacher[rows[0]!]!.length;
  const xtx = new Float64Array(d * d);
  const xty = new Float64Array(d * t);
  const x = new Float64Array(d);
  for (const r of rows) {
    x.set(student[r]!);
    x[d - 1] = 1;
    const y = teacher[r]!;
    for (let i = 0; i < d; i++) {
      const xi = x[i]!;
      for (let j = 0; j < d; j++) xtx[i * d + j]! += xi * x[j]!;
      for (let j = 0; j < t; j++) xty[i * t + j]! += xi * y[j]!;
    }
  }
  let trace = 0;
  for (let i = 0; i < d; i++) trace += xtx[i * d + i]!;
  for (let i = 0; i < d; i++) xtx[i * d + i]! += (ridge * trace) / d;
  return choleskySolve(xtx, d, xty, t);
}

function predict(w: Float64Array, s: Float32Array, t: number): Float64Array {
  const out = new Float64Array(t);
  const d = s.length;
  for (let j = 0; j < t; j++) {
    let v = w[d * t + j]!;
    for (let i = 0; i < d; i++) v += s[i]! * w[i * t + j]!;
    out[j] = v;
  }
  return out;
}

const sq = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
};

function meanOf(vectors: readonly ArrayLike<number>[], dim: number): Float64Array {
  const m = new Float64Array(dim);
  for (const v of vectors) for (let i = 0; i < dim; i++) m[i]! += v[i]!;
  for (let i = 0; i < dim; i++) m[i]! /= vectors.length;
  return m;
}

export function teacherFit(input: TeacherFitInput): GroupFit[] {
  const { student, teacher, people, fitRows, groups } = input;
  if (student.length !== teacher.length || student.length !== people.length) {
    throw new RangeError('student, teacher and people must have one entry per face');
  }
  const dim = student[0]?.length ?? 0;
  if (student.some((s) => s.length !== dim) || dim === 0) throw new RangeError('student rows differ in size');
  if (fitRows.length <= dim + 1) throw new RangeError(`the fit needs more than ${dim + 1} faces`);
  const t = teacher[0]!.length;
  const w = fitAffine(student, teacher, fitRows, input.ridge ?? 1e-9);
  // Every group's variance is measured around the fit set's teacher mean, the map's reference.
  const mu = meanOf(
    fitRows.map((r) => teacher[r]!),
    t,
  );

  return groups.map(({ name, rows }) => {
    const pred = new Map(rows.map((r) => [r, predict(w, student[r]!, t)]));
    let residual = 0;
    let total = 0;
    for (const r of rows) {
      residual += sq(teacher[r]!, pred.get(r)!);
      total += sq(teacher[r]!, mu);
    }
    const byPerson = new Map<string, number[]>();
    for (const r of rows) {
      const rs = byPerson.get(people[r]!);
      if (rs) rs.push(r);
      else byPerson.set(people[r]!, [r]);
    }
    const multi = [...byPerson.values()].filter((rs) => rs.length >= 2);
    let resB = 0;
    let totB = 0;
    let resW = 0;
    let totW = 0;
    let faces = 0;
    for (const rs of multi) {
      const tm = meanOf(
        rs.map((r) => teacher[r]!),
        t,
      );
      const pm = meanOf(
        rs.map((r) => pred.get(r)!),
        t,
      );
      resB += sq(tm, pm);
      totB += sq(tm, mu);
      for (const r of rs) {
        const tr = teacher[r]!;
        const pr = pred.get(r)!;
        for (let j = 0; j < t; j++) {
          resW += (tr[j]! - tm[j]! - (pr[j]! - pm[j]!)) ** 2;
          totW += (tr[j]! - tm[j]!) ** 2;
        }
        faces++;
      }
    }
    return {
      name,
      faces: rows.length,
      people: multi.length,
      r2: 1 - residual / total,
      r2Between: 1 - resB / totB,
      r2Within: 1 - resW / totW,
      teacherVarianceBetween: totB / Math.max(multi.length, 1),
      teacherVarianceWithin: totW / Math.max(faces, 1),
    };
  });
}
