import { describe, expect, it } from 'vitest';
import { teacherFit } from './teacher-fit.ts';

// Deterministic normal draws (mulberry32 + Box-Muller).
function normals(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
}

const STUDENT_DIM = 6;
const TEACHER_DIM = 10;
const PEOPLE = 120;
const FACES_PER_PERSON = 4;

/**
 * Faces of PEOPLE people: each student embedding is its person's vector plus per-face noise, and
 * the teacher of each face comes from `teacherOf` (person index, student row, normal source).
 */
function dataset(teacherOf: (person: number, student: Float32Array, randn: () => number) => Float32Array) {
  const randn = normals(7);
  const student: Float32Array[] = [];
  const teacher: Float32Array[] = [];
  const people: string[] = [];
  for (let p = 0; p < PEOPLE; p++) {
    const centre = Array.from({ length: STUDENT_DIM }, randn);
    for (let f = 0; f < FACES_PER_PERSON; f++) {
      const s = Float32Array.from(centre, (c) => c + 0.5 * randn());
      student.push(s);
      teacher.push(teacherOf(p, s, randn));
      people.push(`person${p}`);
    }
  }
  const rows = student.map((_, i) => i);
  // The first 90 people fit the map; the other 30 are "unseen".
  const fitRows = rows.filter((i) => Number(people[i]!.slice(6)) < 90);
  const unseenRows = rows.filter((i) => Number(people[i]!.slice(6)) >= 90);
  return {
    student,
    teacher,
    people,
    fitRows,
    groups: [
      { name: 'fit', rows: fitRows },
      { name: 'unseen', rows: unseenRows },
    ],
  };
}

const mixing = (() => {
  const randn = normals(3);
  return Array.from({ length: STUDENT_DIM * TEACHER_DIM }, randn);
})();
const affine = (s: Float32Array): Float32Array =>
  Float32Array.from({ length: TEACHER_DIM }, (_, j) => {
    let v = 0.25 * j;
    for (let i = 0; i < STUDENT_DIM; i++) v += s[i]! * mixing[i * TEACHER_DIM + j]!;
    return v;
  });

describe('teacherFit', () => {
  it('explains all of a teacher that is an affine function of the student', () => {
    const report = teacherFit(dataset((_, s) => affine(s)));
    for (const g of report) {
      expect(g.r2).toBeGreaterThan(0.9999);
      expect(g.r2Between).toBeGreaterThan(0.9999);
      expect(g.r2Within).toBeGreaterThan(0.9999);
    }
    expect(report.map((g) => [g.faces, g.people])).toEqual([
      [360, 90],
      [120, 30],
    ]);
  });

  it('explains none of a teacher drawn independently of the student on unseen faces', () => {
    const report = teacherFit(dataset((_, __, randn) => Float32Array.from({ length: TEACHER_DIM }, randn)));
    const unseen = report.find((g) => g.name === 'unseen')!;
    expect(unseen.r2).toBeLessThan(0.02);
    // On the fit faces themselves a chance fit of 7 coefficients per dimension over 360 faces explains little.
    expect(report[0]!.r2).toBeLessThan(0.06);
  });

  it('separates identity (between people) from per-face variation (within people)', () => {
    // The teacher follows the student's person-level structure exactly but adds its own per-face
    // variation that the student does not carry.
    const centres = new Map<number, Float32Array>();
    const report = teacherFit(
      dataset((person, s, randn) => {
        if (!centres.has(person)) centres.set(person, affine(s));
        return Float32Array.from(centres.get(person)!, (v) => v + 0.3 * randn());
      }),
    );
    const unseen = report.find((g) => g.name === 'unseen')!;
    expect(unseen.r2Between).toBeGreaterThan(0.6);
    expect(unseen.r2Within).toBeLessThan(0.05);
    expect(unseen.teacherVarianceWithin).toBeGreaterThan(0.3 ** 2 * TEACHER_DIM * 0.5);
    expect(unseen.teacherVarianceBetween).toBeGreaterThan(unseen.teacherVarianceWithin);
  });

  it('refuses inputs that do not line up or cannot be fitted', () => {
    const d = dataset((_, s) => affine(s));
    expect(() => teacherFit({ ...d, people: d.people.slice(1) })).toThrow(RangeError);
    expect(() => teacherFit({ ...d, fitRows: d.fitRows.slice(0, STUDENT_DIM) })).toThrow(/more than/);
  });
});
