// `npm run bench:cpu`: server CPU per analysed frame, the whole server (every process of its tree,
// every thread: gateway, detect workers, ONNX Runtime pools, the WebRTC host), in steady state.
// For each variant (a set of server settings) and level (concurrent sessions), alternated run by run:
// start `node apps/server/dist/server.js` (the production build) in its own process group, start the
// level's clients in another process (JPEG over WebSocket, pre-encoded frames: they cost the
// server's cores nothing), warm up (`--warmup-s` and at least `--warmup-frames` analysed: the JIT
// compiles a per-frame function after some hundreds of calls, which one session makes in tens of
// seconds; until then V8's compiler threads and the start-up's GCs still run), then read the CPU
// time of the server's tree from /proc and the frames analysed and stage times from /metrics over
// `--window-s`. Prints medians of the runs, split by thread, then by stage (tests/bench/stage-costs.ts:
// decode, hand-off to a detect worker, tracking, landmarks, crop, embedding, each timed one frame at
// a time; the rest is what is left).
//
// With --webrtc the server runs in a private network namespace and the clients are `npm run client`
// WebRTC peers there (each costs the machine ~8% of a core, outside the server's tree); their p95 is
// from the host's stamp on a frame to its score in the peer's output.
//
//   npm run bench:cpu                                      # levels 1,8,16,32; 3 runs; default settings
//   npm run bench:cpu -- --levels 1,8 --runs 3 --variant before:INTRA_OP_THREADS=0 --variant after:
//   npm run bench:cpu -- --variant before@/tmp/before: --variant after:   # another checkout's build
//   (its clients run from that checkout, in its protocol: copy tests/bench/cpu-clients.ts there)
//
// Options: --levels L,… (1,8,16,32)  --runs N (3)  --window-s S (20)  --warmup-s S (6)
//          --warmup-frames N (300)
//          --send-fps F (10: what the server analyses; clients capped to it)  --webrtc
//          --variant NAME[@DIR]:K=V,K=V (repeatable; DIR: a checkout whose apps/server/dist is run;
//          default one variant "default", this checkout, no overrides)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSecondsOf, percentile } from '../support/jpeg-load.ts';
import { NetNamespace } from '../support/netns.ts';
import { killGroupNow, processTree } from '../support/process-tree.ts';
import { SERVER_COMMAND } from '../support/server-process.ts';
import { REPO_ROOT, sharedDataDir } from '../support/shared-data.ts';

const USAGE =
  'usage: npm run bench:cpu -- [--levels 1,8,16,32] [--runs N] [--window-s S] [--warmup-s S] [--warmup-frames N] [--send-fps F] [--variant NAME:K=V,…]…';
function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? fail(`--${name} needs a value`)) : fallback;
};
const levels = opt('levels', '1,8,16,32').split(',').map(Number);
const runs = Number(opt('runs', '3'));
const windowS = Number(opt('window-s', '20'));
const warmupS = Number(opt('warmup-s', '6'));
const warmupFrames = Number(opt('warmup-frames', '300'));
const sendFps = Number(opt('send-fps', '10'));
/** The longest warm-up at a level: `warmupS`, then the frames at the rate asked, twice over. */
const warmupCapS = (sessions: number): number => warmupS + (2 * warmupFrames) / (sessions * sendFps);
if (![...levels, runs, windowS, warmupS, warmupFrames, sendFps].every((n) => Number.isFinite(n) && n > 0))
  fail('bad number');
const webrtc = args.includes('--webrtc');
const variants: { name: string; cwd: string; env: Record<string, string> }[] = [];
args.forEach((a, i) => {
  if (a !== '--variant') return;
  const spec = args[i + 1] ?? fail('--variant needs NAME:K=V,…');
  const [label, pairs = ''] = spec.split(/:(.*)/s);
  const [name, dir] = label!.split('@');
  const env = Object.fromEntries(
    pairs
      .split(',')
      .filter(Boolean)
      .map((kv) => kv.split(/=(.*)/s) as [string, string]),
  );
  variants.push({ name: name!, cwd: dir ? path.resolve(dir) : REPO_ROOT, env });
});
if (variants.length === 0) variants.push({ name: 'default', cwd: REPO_ROOT, env: {} });
for (const v of variants) {
  if (!existsSync(path.join(v.cwd, 'apps', 'server', 'dist', 'server.js'))) {
    fail(`${v.cwd}: build the server first (npm run build:server)`);
  }
  if (!existsSync(path.join(v.cwd, 'tests', 'bench', 'cpu-clients.ts'))) {
    fail(`${v.cwd}: copy tests/bench/cpu-clients.ts there (its clients must speak its protocol)`);
  }
}

const video = (name: string): string => path.join(sharedDataDir(), 'video', name);
const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

function metricSum(text: string, pattern: RegExp): number {
  let total = 0;
  for (const m of text.matchAll(pattern)) total += Number(m[1]);
  return total;
}
/** Where the server's CPU goes, by thread (see {@link threadGroups}). */
const GROUPS = ['main', 'detect', 'pools', 'webrtc'] as const;
type Group = (typeof GROUPS)[number];
interface Sample {
  cpu: number;
  groups: Record<Group, number>;
  frames: number;
  detect: number;
  embed: number;
}

/**
 * CPU seconds of every thread of the server's tree, by group: `main` the gateway's event loop
 * thread (sockets, sessions, IPC, messages), `detect` its detect workers (named `fv-detect`),
 * `pools` its other threads (libuv's pool: JPEG decode and ONNX Runtime runs; libvips; V8's
 * GC and compiler threads), `webrtc` the WebRTC host process (VP8 decode, RTP, the frames' IPC).
 */
function threadGroups(pid: number): Record<Group, number> {
  const groups: Record<Group, number> = { main: 0, detect: 0, pools: 0, webrtc: 0 };
  for (const p of processTree(pid)) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${p.pid}/task`);
    } catch {
      continue; // a process that just ended
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${p.pid}/task/${tid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
        const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
        const comm = readFileSync(`/proc/${p.pid}/task/${tid}/comm`, 'utf8').trim();
        const group: Group =
          p.pid !== pid ? 'webrtc' : Number(tid) === pid ? 'main' : comm === 'fv-detect' ? 'detect' : 'pools';
        groups[group] += seconds;
      } catch {
        // a thread that just ended
      }
    }
  }
  return groups;
}

async function sample(url: string, pid: number): Promise<Sample> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const cpu = processTree(pid).reduce((s, p) => {
    try {
      return s + cpuSecondsOf(p.pid);
    } catch {
      return s; // a process that just ended
    }
  }, 0);
  return {
    cpu,
    groups: threadGroups(pid),
    frames: metricSum(text, /^fv_frames_analysed_total(?:\{[^}]*\})? (\S+)$/gm),
    detect: metricSum(text, /^fv_stage_seconds_sum\{stage="detect"\} (\S+)$/gm),
    embed: metricSum(text, /^fv_stage_seconds_sum\{stage="embed"\} (\S+)$/gm),
  };
}

interface Result {
  msPerFrame: number;
  /** Server CPU ms per analysed frame by thread group. */
  perGroup: Record<Group, number>;
  cores: number;
  fps: number;
  detectMs: number;
  embedMs: number;
  p95: number;
  errors: number;
}

/** The clients' process: JPEG sessions (cpu-clients.ts), or one CLI WebRTC peer per session. */
function startClients(
  cwd: string,
  url: string,
  sessions: number,
  ns: NetNamespace | null,
): ReturnType<typeof spawn>[] {
  // From the variant's own checkout: its clients speak its protocol version.
  if (ns === null) {
    return [
      spawn(
        process.execPath,
        ['--import', 'tsx', 'tests/bench/cpu-clients.ts', url, String(sessions), String(sendFps)].concat([
          video('person-a_reference.jpg'),
          video('person-a_320x240_3s.y4m'),
        ]),
        { cwd, stdio: ['ignore', 'pipe', 'inherit'] },
      ),
    ];
  }
  const loops = String(Math.ceil((warmupCapS(sessions) + windowS + 30) / 3));
  return Array.from({ length: sessions }, () =>
    ns.spawn(
      process.execPath,
      ['--import', 'tsx', 'apps/server/src/cli/client.ts', '--server', url]
        .concat(['--reference', video('person-a_reference.jpg'), '--video', video('person-a_320x240_3s.y4m')])
        .concat(['--loops', loops, '--send-fps', String(sendFps), '--json']),
      { cwd },
    ),
  );
}

async function measure(cwd: string, env: Record<string, string>, sessions: number): Promise<Result> {
  const port = await freePort();
  const ns = webrtc ? new NetNamespace() : null;
  const host = ns?.innerAddress ?? '127.0.0.1';
  const url = `http://${host}:${port}`;
  const [command, commandArgs] = ns
    ? ['ip', ['netns', 'exec', ns.name, SERVER_COMMAND[0], ...SERVER_COMMAND[1]]]
    : SERVER_COMMAND;
  const child = spawn(command, commandArgs, {
    cwd,
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, PORT: String(port), HOST: host, LOG_LEVEL: 'warn', ...env },
  });
  const pgid = child.pid!;
  let clients: ReturnType<typeof spawn>[] = [];
  try {
    for (let i = 0; ; i++) {
      if (i > 300) throw new Error('server did not become ready');
      try {
        if ((await fetch(`${url}/readyz`)).ok) break;
      } catch {
        /* not listening yet */
      }
      await sleep(100);
    }
    clients = startClients(cwd, url, sessions, ns);
    const lines: string[] = [];
    /** Clients that have received a score (a WebRTC peer streams once it has). */
    const scored = new Set<number>();
    /** WebRTC: when each score reached its peer's output, and the frame→score time it tells. */
    const webrtcScores: { at: number; latencyMs: number }[] = [];
    clients.forEach((c, k) => {
      let buffered = '';
      c.stdout!.on('data', (d: Buffer) => {
        const at = Date.now();
        buffered += d.toString();
        const parts = buffered.split('\n');
        buffered = parts.pop()!;
        lines.push(...parts);
        for (const line of parts) {
          if (!line.includes('"type":"score"')) continue;
          scored.add(k);
          const { capturedAt } = JSON.parse(line) as { capturedAt?: unknown };
          if (ns !== null && typeof capturedAt === 'number')
            webrtcScores.push({ at, latencyMs: at - capturedAt });
        }
      });
    });
    // JPEG: the clients' process says when every session streams; WebRTC: each peer's first score.
    const ready = (): boolean =>
      ns === null ? lines.some((l) => l.includes('"ready"')) : scored.size === clients.length;
    for (let i = 0; !ready(); i++) {
      if (i > 900 || clients.some((c) => c.exitCode !== null)) throw new Error('clients did not start');
      await sleep(100);
    }
    const warmupStart = performance.now();
    const atReady = await sample(url, pgid);
    await sleep(warmupS * 1000);
    while (
      (await sample(url, pgid)).frames - atReady.frames < warmupFrames &&
      performance.now() - warmupStart < warmupCapS(sessions) * 1000
    ) {
      await sleep(500);
    }
    const a = await sample(url, pgid);
    const t0 = performance.now();
    const windowStart = Date.now();
    await sleep(windowS * 1000);
    const b = await sample(url, pgid);
    const windowEnd = Date.now();
    const seconds = (performance.now() - t0) / 1000;
    let done: { p95: number | null; errors: number } = { p95: null, errors: -1 };
    if (ns !== null) {
      // The host stamps a frame when it takes it from the peer; the score is seen as the peer prints it.
      const inWindow = webrtcScores
        .filter((x) => x.at >= windowStart && x.at <= windowEnd)
        .map((x) => x.latencyMs);
      done = { ...done, p95: inWindow.length > 0 ? percentile(inWindow, 95) : null };
    } else {
      clients[0]!.kill('SIGTERM');
      for (let i = 0; !lines.some((l) => l.includes('"done"')) && i < 100; i++) await sleep(100);
      done = JSON.parse(lines.find((l) => l.includes('"done"')) ?? '{"p95":null,"errors":-1}') as typeof done;
    }
    const frames = b.frames - a.frames;
    const perGroup = Object.fromEntries(
      GROUPS.map((g) => [g, ((b.groups[g] - a.groups[g]) * 1000) / frames]),
    ) as Record<Group, number>;
    return {
      msPerFrame: ((b.cpu - a.cpu) * 1000) / frames,
      perGroup,
      cores: (b.cpu - a.cpu) / seconds,
      fps: frames / seconds,
      detectMs: ((b.detect - a.detect) * 1000) / frames,
      embedMs: ((b.embed - a.embed) * 1000) / frames,
      p95: done.p95 ?? NaN,
      errors: done.errors,
    };
  } finally {
    for (const c of clients) c.kill('SIGKILL');
    killGroupNow(pgid);
    ns?.close();
  }
}

/** Whole milliseconds, or a dash for a figure no client gave. */
const ms0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '—');
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[(xs.length - 1) >> 1] ?? NaN;
const results = new Map<string, Result[]>();
const key = (v: string, n: number): string => `${v}@${n}`;
console.log(
  `bench:cpu — ${os.cpus().length} cores, levels ${levels.join('/')}, ${runs} runs, warm-up ≥ ${warmupS} s and ≥ ${warmupFrames} frames + ${windowS} s window, clients ${sendFps} fps ${webrtc ? 'WebRTC (CLI peers in a network namespace)' : 'JPEG over WebSocket'}`,
);
for (let r = 0; r < runs; r++) {
  for (const n of levels) {
    // Alternate the variants' order run by run, so drift favours none.
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      const result = await measure(v.cwd, v.env, n);
      (results.get(key(v.name, n)) ?? results.set(key(v.name, n), []).get(key(v.name, n))!).push(result);
      console.log(
        `  run ${r + 1} ${v.name} ${n} sessions: ${result.msPerFrame.toFixed(1)} ms/frame (${GROUPS.map((g) => `${g} ${result.perGroup[g].toFixed(2)}`).join(', ')}), ${result.cores.toFixed(2)} cores, ${result.fps.toFixed(1)} frames/s, p95 ${ms0(result.p95)} ms`,
      );
    }
  }
}
console.log('');
console.log(
  "Server CPU ms per analysed frame by thread (medians): main = the gateway's event loop (sockets,",
);
console.log(
  'sessions, messages, IPC); detect = detect workers (tracking, cascade, landmarks, crops); pools =',
);
console.log('its other threads (JPEG decode, ONNX Runtime embedding, libvips, GC); webrtc = the WebRTC host');
console.log('process (VP8 decode, RTP, frames to the gateway).');
console.log('');
console.log(`| variant | sessions | ${GROUPS.join(' | ')} |`);
console.log(`| --- | --- | ${GROUPS.map(() => '---').join(' | ')} |`);
for (const v of variants) {
  for (const n of levels) {
    const rs = results.get(key(v.name, n))!;
    console.log(
      `| ${v.name} | ${n} | ${GROUPS.map((g) => median(rs.map((x) => x.perGroup[g])).toFixed(2)).join(' | ')} |`,
    );
  }
}
console.log('');
console.log(
  '| variant | sessions | server CPU ms / analysed frame | cores used | frames analysed/s | detect+align ms (stage timer) | embed ms (wait incl.) | client p95 ms | capacity at 10 fps |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const v of variants) {
  for (const n of levels) {
    const rs = results.get(key(v.name, n))!;
    const ms = median(rs.map((x) => x.msPerFrame));
    console.log(
      `| ${v.name} | ${n} | ${ms.toFixed(1)} (${rs.map((x) => x.msPerFrame.toFixed(1)).join(', ')}) | ${median(rs.map((x) => x.cores)).toFixed(2)} | ${median(rs.map((x) => x.fps)).toFixed(1)} | ${median(rs.map((x) => x.detectMs)).toFixed(1)} | ${median(rs.map((x) => x.embedMs)).toFixed(1)} | ${ms0(median(rs.map((x) => x.p95)))} | ${((os.cpus().length * 1000) / ms / 10).toFixed(1)} |`,
    );
  }
}

// Where a frame's CPU goes, stage by stage (tests/bench/stage-costs.ts: the stages one frame at a time
// in one process), for each variant whose checkout has the script; `rest` is the server's figure
// less those stages: the event loop's sockets and messages, scoring, hand-offs between threads, GC.
// One session is compared with the stages run a frame interval apart (caches as cold as a lone
// session leaves them), more with the stages back to back. The script runs `runs` times per variant
// and mode, alternating like the server runs (this machine's speed drifts over minutes); medians.
type Stage = 'decode' | 'ipc' | 'track' | 'landmarks' | 'crop' | 'embed1' | 'embed16';
const staged = variants.filter((v) => existsSync(path.join(v.cwd, 'tests', 'bench', 'stage-costs.ts')));
const stageRuns = new Map<string, Record<Stage, number>[]>();
const stageKey = (v: string, cold: boolean): string => `${v}:${cold ? 'cold' : 'warm'}`;
const modes = [...new Set(levels.map((n) => n === 1))];
for (let r = 0; r < runs; r++) {
  for (const cold of modes) {
    for (const v of r % 2 === 0 ? staged : [...staged].reverse()) {
      const args = cold ? ['100', '2', String(Math.round(1000 / sendFps))] : ['300', '3', '0'];
      const out = execFileSync(
        process.execPath,
        ['--import', 'tsx', 'tests/bench/stage-costs.ts', video('person-a_320x240_3s.y4m'), ...args],
        {
          cwd: v.cwd,
          env: { ...process.env, ...v.env },
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const { ms } = JSON.parse(out.trim().split('\n').pop()!) as { ms: Record<Stage, number> };
      const k = stageKey(v.name, cold);
      (stageRuns.get(k) ?? stageRuns.set(k, []).get(k)!).push(ms);
    }
  }
}
const stageRows: string[] = [];
for (const v of staged) {
  for (const n of levels) {
    const all = stageRuns.get(stageKey(v.name, n === 1))!;
    const ms = (s: Stage): number => median(all.map((x) => x[s]));
    const rs = results.get(key(v.name, n))!;
    const server = median(rs.map((x) => x.msPerFrame));
    // WebRTC frames are decoded by the host (its own column above), JPEG ones by `decode`.
    const decode = webrtc ? median(rs.map((x) => x.perGroup.webrtc)) : ms('decode');
    const embed = n === 1 ? ms('embed1') : ms('embed16');
    const parts = [decode, ms('ipc'), ms('track'), ms('landmarks'), ms('crop'), embed];
    const sum = parts.reduce((x, y) => x + y, 0);
    stageRows.push(
      `| ${v.name} | ${n} | ${n === 1 ? 'a frame interval apart' : 'back to back'} | ${parts.map((x) => x.toFixed(2)).join(' | ')} | ${(server - sum).toFixed(2)} | ${server.toFixed(1)} |`,
    );
  }
}
if (stageRows.length > 0) {
  console.log('');
  console.log(
    `By stage, CPU ms per analysed frame: the stages measured one frame at a time in one process over the clip (medians of ${runs} alternating runs); decode = ${webrtc ? "the WebRTC host's process (VP8)" : 'a colour JPEG to its luma'}; ipc = the frame to a detect worker and an analysed frame back; track = tracking, confirmations, counts, quality, features; landmarks = the landmark net with its chip; crop = the aligned 62×47 crop; embed = the embedding net (batch 1 at one session, per crop at batch 16 above); rest = the server's figure less the stages (event loop, sockets, scoring, hand-offs between threads, GC).`,
  );
  console.log('');
  console.log(
    '| variant | sessions | stages run | decode | ipc | track | landmarks | crop | embed | rest | server |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of stageRows) console.log(row);
}
