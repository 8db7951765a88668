/** One verification pair from an LFW pair list. */
export interface LfwPair {
  readonly nameA: string;
  readonly imageA: number;
  readonly nameB: string;
  readonly imageB: number;
  readonly same: boolean;
  /** 0-based fold (always 0 for single-set files). */
  readonly fold: number;
}

export interface LfwPairList {
  readonly folds: number;
  readonly pairs: LfwPair[];
}

/**
 * Parses the LFW pair-list format: a header `N` (View 1: N matched then N mismatched pairs) or
 * `folds<TAB>N` (View 2: each fold N matched then N mismatched), then lines `name i j` (matched)
 * or `name1 i name2 j` (mismatched).
 */
export function parsePairs(text: string): LfwPairList {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines.length === 0) throw new TypeError('empty pairs file');
  const header = lines[0]!.split(/\s+/).map(Number);
  if (header.some((v) => !Number.isInteger(v) || v <= 0) || header.length > 2) {
    throw new TypeError(`bad pairs header: ${lines[0]}`);
  }
  const folds = header.length === 2 ? header[0]! : 1;
  // Either way the header counts matched pairs; as many mismatched pairs follow.
  const perFold = (header.length === 2 ? header[1]! : header[0]!) * 2;
  const body = lines.slice(1);
  if (body.length !== folds * perFold) {
    throw new TypeError(`pairs file declares ${folds * perFold} pairs but has ${body.length}`);
  }
  const pairs = body.map((line, index): LfwPair => {
    const t = line.split(/\s+/);
    const fold = Math.floor(index / perFold);
    if (t.length === 3) {
      return {
        nameA: t[0]!,
        imageA: toImage(t[1]!, line),
        nameB: t[0]!,
        imageB: toImage(t[2]!, line),
        same: true,
        fold,
      };
    }
    if (t.length === 4) {
      return {
        nameA: t[0]!,
        imageA: toImage(t[1]!, line),
        nameB: t[2]!,
        imageB: toImage(t[3]!, line),
        same: false,
        fold,
      };
    }
    throw new TypeError(`bad pairs line: ${line}`);
  });
  return { folds, pairs };
}

function toImage(token: string, line: string): number {
  const n = Number(token);
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`bad image number in line: ${line}`);
  return n;
}

/** People named in a pair list (optionally only one fold). */
export function peopleIn(list: LfwPairList, fold?: number): Set<string> {
  const people = new Set<string>();
  for (const p of list.pairs) {
    if (fold !== undefined && p.fold !== fold) continue;
    people.add(p.nameA);
    people.add(p.nameB);
  }
  return people;
}
