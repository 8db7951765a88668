// Shared by bench:live and bench:load: a server (and optional workers) inside a private network
// namespace, N concurrent CLI clients over real WebRTC, and per-level figures.
import path from 'node:path';
import type { NetNamespace } from '../support/netns.ts';
import { run } from '../support/server-process.ts';
import { REPO_ROOT, sharedDataDir } from '../support/shared-data.ts';

export interface LevelResult {
  sessions: number;
  p50: number;
  p95: number;
  worstP95: number;
  scoredPerSession: number;
  scoredPerSecond: number;
  starved: number;
  dropped: number;
  meanBatch: number;
  stageMs: Record<string, number>;
  failedClients: number;
}

const video = (name: string): string => path.join(sharedDataDir(), 'video', name);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

function metric(text: string, pattern: RegExp): number {
  let total = 0;
  for (const m of text.matchAll(pattern)) total += Number(m[1]);
  return total;
}

/** Runs `levels` of concurrent CLI clients against `url`; stops early when p95 runs far over 150 ms. */
export async function measureLevels(
  ns: NetNamespace,
  url: string,
  levels: number[],
  loops: number,
): Promise<LevelResult[]> {
  const results: LevelResult[] = [];
  for (const n of levels) {
    const before = await (await fetch(`${url}/metrics`)).text();
    const started = Date.now();
    const clients = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        run(
          ns.spawn(
            process.execPath,
            [
              '--import',
              'tsx',
              'apps/server/src/cli/client.ts',
              '--server',
              url,
              '--reference',
              video('person-a_reference.jpg'),
              '--video',
              video(i % 2 === 0 ? 'person-a_320x240_3s.y4m' : 'person-b_320x240_3s.y4m'),
              '--loops',
              String(loops),
              '--json',
            ],
            { cwd: REPO_ROOT },
          ),
        ),
      ),
    );
    const seconds = (Date.now() - started) / 1000;
    const after = await (await fetch(`${url}/metrics`)).text();
    const summaries = clients
      .map((r) => r.out.split('\n').find((l) => l.includes('"summary"')))
      .filter((l): l is string => l !== undefined)
      .map((l) => JSON.parse(l) as Record<string, number>);
    const delta = (pattern: RegExp): number => metric(after, pattern) - metric(before, pattern);
    const stageMs: Record<string, number> = {};
    for (const stage of ['detect', 'embed', 'end_to_end']) {
      const sum = delta(new RegExp(`^fv_stage_seconds_sum\\{stage="${stage}"\\} ([\\d.e+-]+)$`, 'gm'));
      const count = delta(new RegExp(`^fv_stage_seconds_count\\{stage="${stage}"\\} ([\\d.e+-]+)$`, 'gm'));
      stageMs[stage] = count > 0 ? (sum / count) * 1000 : NaN;
    }
    const batches = delta(/^fv_embed_batch_size_count ([\d.e+-]+)$/gm);
    const faces = delta(/^fv_embed_batch_size_sum ([\d.e+-]+)$/gm);
    const expected = loops * 3 * 10;
    const scored = summaries.map((s) => s['scoresReceived']!);
    const p95s = summaries.map((s) => s['latencyP95Ms']!);
    results.push({
      sessions: n,
      p50: median(summaries.map((s) => s['latencyP50Ms']!)),
      p95: median(p95s),
      worstP95: Math.max(...p95s),
      scoredPerSession: median(scored),
      // Over the streaming time (client start-up excluded).
      scoredPerSecond: scored.reduce((a, b) => a + b, 0) / Math.min(seconds, loops * 3),
      starved: n - scored.filter((s) => s >= expected * 0.5).length,
      dropped: delta(/^fv_frames_dropped_total\{reason="[a-z_]+"\} ([\d.e+-]+)$/gm),
      meanBatch: batches > 0 ? faces / batches : NaN,
      stageMs,
      failedClients: n - summaries.length,
    });
    if (summaries.length < n || Math.max(...p95s) > 1000) break;
  }
  return results;
}

export function printLevels(title: string, results: LevelResult[]): void {
  console.log(title);
  console.log(
    'sessions  scored/s  p50 ms  p95 ms  worst p95  scored/session  starved  dropped  mean batch  detect ms  embed ms  e2e ms',
  );
  for (const r of results) {
    const f = (v: number, d = 0): string => (Number.isFinite(v) ? v.toFixed(d) : '-');
    console.log(
      `${String(r.sessions).padStart(8)}  ${f(r.scoredPerSecond, 1).padStart(8)}  ${f(r.p50).padStart(6)}  ${f(r.p95).padStart(6)}  ${f(r.worstP95).padStart(9)}  ${f(r.scoredPerSession).padStart(14)}  ${String(r.starved).padStart(7)}  ${f(r.dropped).padStart(7)}  ${f(r.meanBatch, 2).padStart(10)}  ${f(r.stageMs['detect']!, 1).padStart(9)}  ${f(r.stageMs['embed']!, 1).padStart(8)}  ${f(r.stageMs['end_to_end']!, 1).padStart(6)}${r.failedClients ? `  (${r.failedClients} clients failed)` : ''}`,
    );
  }
}
