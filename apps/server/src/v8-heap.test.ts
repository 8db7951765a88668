import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { applyHeapGrowth } from './v8-heap.ts';

const MODULE = fileURLToPath(new URL('./v8-heap.ts', import.meta.url));

/**
 * A fresh process that applies `percent`, keeps ~30 MB live, then promotes ~100 MB of objects that
 * die in the old generation (each outlives several scavenges in a ring), and counts its full
 * collections. A V8 flag is process-wide, hence the child.
 */
function fullCollections(percent: number): number {
  const program = `
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    import { applyHeapGrowth } from ${JSON.stringify(MODULE)};
    applyHeapGrowth(${percent});
    const live = Array.from({ length: 300_000 }, (_, i) => ({ i, s: 'x' + i, a: [i, i] }));
    globalThis.gc();
    let full = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) full++;
    }).observe({ entryTypes: ['gc'] });
    const ring = new Array(200_000);
    for (let i = 0; i < 2_000_000; i++) ring[i % ring.length] = { i, a: [i] };
    setTimeout(() => console.log(JSON.stringify({ full, live: live.length })), 50);
  `;
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', program],
    { encoding: 'utf8' },
  );
  return (JSON.parse(out.trim().split('\n').at(-1)!) as { full: number }).full;
}

describe('applyHeapGrowth', () => {
  it('sets how far the heaps grow before a full collection: a tight headroom collects far more often', () => {
    const tight = fullCollections(1);
    const wide = fullCollections(400);
    expect(tight).toBeGreaterThanOrEqual(3);
    expect(wide).toBeLessThan(tight);
  }, 60_000);

  it('refuses a percent that is not an integer ≥ 0', () => {
    expect(() => applyHeapGrowth(-1)).toThrow(TypeError);
    expect(() => applyHeapGrowth(1.5)).toThrow(TypeError);
    expect(() => applyHeapGrowth(Number.NaN)).toThrow(TypeError);
  });
});
