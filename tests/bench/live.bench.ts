// `npm run bench:live`: the live path measured with the CLI client over real WebRTC, server and
// clients inside a private network namespace on this machine. For 1, 2, 4, … concurrent sessions
// at 10 analysis fps: frame→score p50/p95 (medians over sessions), frames scored per session,
// starved sessions, and where the server's time goes per stage (from /metrics). Never run in CI.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { NetNamespace } from '../support/netns.ts';
import { REPO_ROOT, sharedDataDir } from '../support/shared-data.ts';

const LEVELS = (process.env['BENCH_SESSIONS'] ?? '1,2,4,8,12,16,24,32,40').split(',').map(Number);
const LOOPS = Number(process.env['BENCH_LOOPS'] ?? 3); // clip plays this many times (3 s each)
const P95_LIMIT_MS = 150;
const video = (name: string): string => path.join(sharedDataDir(), 'video', name);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

function run(child: ChildProcess): Promise<{ code: number | null; out: string }> {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

async function stageTotals(url: string): Promise<Map<string, { sum: number; count: number }>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const totals = new Map<string, { sum: number; count: number }>();
  for (const m of text.matchAll(/^fv_stage_seconds_(sum|count)\{stage="(\w+)"\} ([\d.e+-]+)$/gm)) {
    const entry = totals.get(m[2]!) ?? { sum: 0, count: 0 };
    entry[m[1] as 'sum' | 'count'] = Number(m[3]);
    totals.set(m[2]!, entry);
  }
  return totals;
}

const ns = new NetNamespace(String(process.pid));
const url = `http://${ns.innerAddress}:18282`;
const server = ns.spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/server.ts'], {
  cwd: REPO_ROOT,
  env: { PORT: '18282', HOST: ns.innerAddress, LOG_LEVEL: 'warn' },
});
const serverDone = run(server);
try {
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log(
    `live bench: server + N CLI clients (WebRTC, VP8 320×240 @ 15 fps sent, 10 fps analysed), ${LOOPS * 3} s per session`,
  );
  console.log(
    'sessions  p50 ms  p95 ms  worst p95  scored/session  starved  detect ms  embed ms  end-to-end ms',
  );
  for (const n of LEVELS) {
    const before = await stageTotals(url);
    const clients = Array.from({ length: n }, (_, i) =>
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
            String(LOOPS),
            '--json',
          ],
          { cwd: REPO_ROOT },
        ),
      ),
    );
    const results = await Promise.all(clients);
    const summaries = results
      .map(
        (r) =>
          r.out
            .trim()
            .split('\n')
            .filter((l) => l.includes('"summary"'))
            .map((l) => JSON.parse(l) as Record<string, number>)[0],
      )
      .filter((s): s is Record<string, number> => s !== undefined);
    const after = await stageTotals(url);
    const stage = (name: string): string => {
      const a = after.get(name);
      const b = before.get(name) ?? { sum: 0, count: 0 };
      return a && a.count > b.count ? (((a.sum - b.sum) / (a.count - b.count)) * 1000).toFixed(1) : '-';
    };
    const expected = LOOPS * 3 * 10;
    const p50s = summaries.map((s) => s['latencyP50Ms']!);
    const p95s = summaries.map((s) => s['latencyP95Ms']!);
    const scored = summaries.map((s) => s['scoresReceived']!);
    const starved = n - summaries.filter((s) => s['scoresReceived']! >= expected * 0.5).length;
    const worst = Math.max(...p95s);
    console.log(
      `${String(n).padStart(8)}  ${median(p50s).toFixed(0).padStart(6)}  ${median(p95s).toFixed(0).padStart(6)}  ${worst.toFixed(0).padStart(9)}  ${median(scored).toFixed(0).padStart(14)}  ${String(starved).padStart(7)}  ${stage('detect').padStart(9)}  ${stage('embed').padStart(8)}  ${stage('end_to_end').padStart(13)}`,
    );
    if (summaries.length < n || worst > P95_LIMIT_MS * 3) {
      console.log(`stopping: ${n - summaries.length} clients failed or p95 far over ${P95_LIMIT_MS} ms`);
      break;
    }
  }
} finally {
  server.kill('SIGTERM');
  await serverDone;
  ns.close();
}
