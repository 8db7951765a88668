import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** One image in LFW layout: `<root>/<Name>/<Name>_<NNNN>.jpg`. */
export interface LfwImage {
  readonly name: string;
  /** 1-based image number as in the pair lists. */
  readonly image: number;
  readonly file: string;
}

export function lfwImagePath(root: string, name: string, image: number): string {
  return path.join(root, name, `${name}_${String(image).padStart(4, '0')}.jpg`);
}

/** Lists every image under an LFW-layout directory, sorted by person then number. */
export async function listLfwImages(root: string): Promise<LfwImage[]> {
  const entries = await readdir(root, { withFileTypes: true });
  const people: string[] = [];
  for (const d of entries) {
    // Follow symlinked person folders too (handy for subsets).
    if (d.isDirectory() || (d.isSymbolicLink() && (await stat(path.join(root, d.name))).isDirectory()))
      people.push(d.name);
  }
  people.sort();
  const images: LfwImage[] = [];
  const pattern = /^(.*)_(\d{4})\.jpg$/;
  for (const name of people) {
    const files = (await readdir(path.join(root, name))).sort();
    for (const file of files) {
      const m = pattern.exec(file);
      if (m === null || m[1] !== name) continue;
      images.push({ name, image: Number(m[2]), file: path.join(root, name, file) });
    }
  }
  return images;
}
