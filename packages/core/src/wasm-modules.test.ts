import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generatedModule, watFiles } from '../scripts/build-wasm.ts';

describe('WebAssembly modules', () => {
  it('each committed `.wasm.ts` is what `npm run build:wasm` makes of its `.wat`', async () => {
    const files = await watFiles();
    expect(files.length).toBeGreaterThan(0);
    for (const { wat, generated } of files) {
      const fresh = await generatedModule(wat, await readFile(wat, 'utf8'));
      expect(await readFile(generated, 'utf8'), generated).toBe(fresh);
    }
  });
});
