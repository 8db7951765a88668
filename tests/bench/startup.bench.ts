// `npm run bench:startup`: for one or more server start commands, alternated run by run,
// 1. start-up time: spawn (own process group, a free PORT, HOST=127.0.0.1, LOG_LEVEL=warn) to the
//    first 200 from GET /readyz, polled every 20 ms;
// 2. idle RSS of the whole process tree (npm, sh, tsx, node, esbuild, the WebRTC host, …) after
//    ready + a few idle seconds;
// 3. the RSS a live session adds: N sessions (open mode, no key) streaming pre-encoded JPEG frames
//    over their WebSocket for a while, (tree RSS then − idle RSS) / N.
// Each run ends its process group (SIGTERM, SIGKILL after 10 s), also on errors and Ctrl-C.
//
//   npm run bench:startup                       # this repo's production start, node apps/server/dist/server.js
//   npm run bench:startup -- --runs 5 \
//     --label after  --cwd .           --cmd "node apps/server/dist/server.js" \
//     --label before --cwd /tmp/before --cmd "npm run start -w @fv/server"
//
// Per command (each --cmd closes one; --label, --cwd and --env K=V before it apply to it):
//   --label NAME  --cwd DIR (default: the repo root)  --env KEY=VALUE (repeatable)  --cmd "SHELL COMMAND"
// Global: --runs N (5)  --sessions N (10; 0 skips part 3)  --idle-s S (3)  --stream-s S (10)
//         --fps F (10, frames per second each session sends)  --ready-timeout-s S (120)  --warmup N (0)
//         --all-trees (print every run's process trees, not only those of the median run)
// Or by environment: BENCH_START / BENCH_CWD / BENCH_LABEL, then BENCH_START_B / BENCH_CWD_B /
// BENCH_LABEL_B, _C, …; BENCH_RUNS, BENCH_SESSIONS, BENCH_IDLE_S, BENCH_STREAM_S.
// Commands run under /bin/sh with the environment of this process, less what npm adds for a script
// (npm_* run variables, node_modules/.bin on PATH) and less TENANTS_FILE / REDIS_URL / ROLE, so each
// command resolves its own tools from its own cwd and the server runs embedded in open mode.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeClip, JpegSession } from '../support/jpeg-load.ts';
import { killGroupNow, killTree, processTree, type TreeProcess } from '../support/process-tree.ts';
import { REPO_ROOT, sharedDataDir } from '../support/shared-data.ts';

interface Command {
  label: string;
  cwd: string;
  cmd: string;
  env: Record<string, string>;
}

interface Options {
  runs: number;
  warmup: number;
  sessions: number;
  idleS: number;
  streamS: number;
  fps: number;
  readyTimeoutS: number;
  /** Print every run's process trees, not only the median run's. */
  allTrees: boolean;
  commands: Command[];
}

interface RunResult {
  readyMs: number;
  idleKiB: number;
  idleTree: TreeProcess[];
  /** Tree RSS at the end of streaming (NaN without sessions). */
  loadedKiB: number;
  /** Largest tree RSS sampled (once a second) while streaming. */
  peakKiB: number;
  loadedTree: TreeProcess[];
  scoresPerSession: number;
  sessionErrors: number;
}

const DEFAULT_CMD = 'node apps/server/dist/server.js';
const USAGE = `usage: tsx tests/bench/startup.bench.ts [--runs N] [--sessions N] [--idle-s S] [--stream-s S] [--fps F]
       [--ready-timeout-s S] [--warmup N] [--all-trees] [[--label NAME] [--cwd DIR] [--env K=V]... --cmd "COMMAND"]...
(no --cmd: BENCH_START[_B, _C…] / BENCH_CWD[_B…] / BENCH_LABEL[_B…], else "${DEFAULT_CMD}" in the repo root)`;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function positive(name: string, value: string | undefined, min = 1): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n < min) fail(`${name} needs a number ≥ ${min}`);
  return n;
}

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const options: Options = {
    runs: positive('BENCH_RUNS', env['BENCH_RUNS'] ?? '5'),
    warmup: 0,
    sessions: positive('BENCH_SESSIONS', env['BENCH_SESSIONS'] ?? '10', 0),
    idleS: positive('BENCH_IDLE_S', env['BENCH_IDLE_S'] ?? '3', 0),
    streamS: positive('BENCH_STREAM_S', env['BENCH_STREAM_S'] ?? '10', 1),
    fps: 10,
    readyTimeoutS: 120,
    allTrees: false,
    commands: [],
  };
  let pending: Partial<Command> & { env: Record<string, string> } = { env: {} };
  let touched = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) fail(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--runs':
        options.runs = positive(flag, value());
        break;
      case '--warmup':
        options.warmup = positive(flag, value(), 0);
        break;
      case '--sessions':
        options.sessions = positive(flag, value(), 0);
        break;
      case '--idle-s':
        options.idleS = positive(flag, value(), 0);
        break;
      case '--stream-s':
        options.streamS = positive(flag, value());
        break;
      case '--fps':
        options.fps = positive(flag, value());
        break;
      case '--ready-timeout-s':
        options.readyTimeoutS = positive(flag, value());
        break;
      case '--all-trees':
        options.allTrees = true;
        break;
      case '--label':
        pending.label = value();
        touched = true;
        break;
      case '--cwd':
        pending.cwd = path.resolve(value());
        touched = true;
        break;
      case '--env': {
        const kv = value();
        const eq = kv.indexOf('=');
        if (eq <= 0) fail(`--env wants KEY=VALUE, got ${JSON.stringify(kv)}`);
        pending.env[kv.slice(0, eq)] = kv.slice(eq + 1);
        touched = true;
        break;
      }
      case '--cmd':
        options.commands.push({
          label: pending.label ?? `cmd${options.commands.length + 1}`,
          cwd: pending.cwd ?? REPO_ROOT,
          cmd: value(),
          env: pending.env,
        });
        pending = { env: {} };
        touched = false;
        break;
      case '-h':
      case '--help':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        fail(`unknown argument ${JSON.stringify(flag)}`);
    }
  }
  if (touched) fail('--label/--cwd/--env after the last --cmd: each command ends with its --cmd');
  if (options.commands.length === 0) {
    for (const suffix of ['', ...'BCDEFGH'.split('').map((c) => `_${c}`)]) {
      const cmd = env[`BENCH_START${suffix}`];
      if (!cmd) continue;
      options.commands.push({
        label: env[`BENCH_LABEL${suffix}`] ?? (suffix ? suffix.slice(1) : 'A'),
        cwd: path.resolve(env[`BENCH_CWD${suffix}`] ?? REPO_ROOT),
        cmd,
        env: {},
      });
    }
  }
  if (options.commands.length === 0)
    options.commands.push({ label: 'dist', cwd: REPO_ROOT, cmd: DEFAULT_CMD, env: {} });
  const labels = options.commands.map((c) => c.label);
  if (new Set(labels).size !== labels.length) fail(`labels must differ: ${labels.join(', ')}`);
  return options;
}

/** This process's environment as a command should see it: no npm script variables, no mode switches. */
function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_(lifecycle_|package_|command$|execpath$|node_execpath$|config_local_prefix$)/.test(key))
      delete env[key];
  }
  for (const key of ['INIT_CWD', 'TENANTS_FILE', 'REDIS_URL', 'ROLE']) delete env[key];
  env['PATH'] = (env['PATH'] ?? '')
    .split(path.delimiter)
    .filter((dir) => !/node_modules[\\/]\.bin$|node-gyp-bin$/.test(dir))
    .join(path.delimiter);
  return env;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sumKiB = (tree: TreeProcess[]): number => tree.reduce((s, p) => s + p.rssKiB, 0);
const mib = (kib: number): string => (kib / 1024).toFixed(1);

function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Process groups started and not yet ended: killed on any way out. */
const liveGroups = new Set<number>();
process.on('exit', () => {
  for (const pgid of liveGroups) killGroupNow(pgid);
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: ending ${liveGroups.size} server group(s)`);
    void Promise.all([...liveGroups].map((pgid) => killTree(pgid, [], 3000))).finally(() =>
      process.exit(130),
    );
  });
}

interface Clients {
  reference: Buffer;
  frames: Buffer[];
}

async function runOnce(command: Command, options: Options, clients: Clients): Promise<RunResult> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ...baseEnv(),
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...command.env,
  };
  let log = '';
  const keep = (d: Buffer): void => {
    log = (log + d.toString()).slice(-8000);
  };
  const t0 = performance.now();
  const child = spawn(command.cmd, {
    cwd: command.cwd,
    env,
    shell: '/bin/sh',
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pgid = child.pid;
  if (pgid === undefined) throw new Error(`could not spawn ${command.cmd}`);
  liveGroups.add(pgid);
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited: string | null = null;
  child.once('exit', (code, signal) => (exited = `exited (${signal ?? `code ${code}`})`));
  const seen = new Map<number, TreeProcess>();
  const snapshot = (): TreeProcess[] => {
    const tree = processTree(pgid);
    for (const p of tree) seen.set(p.pid, p);
    return tree;
  };
  const sessions: JpegSession[] = [];
  try {
    // 1. start-up
    let readyMs = NaN;
    const deadline = t0 + options.readyTimeoutS * 1000;
    while (Number.isNaN(readyMs)) {
      if (exited) throw new Error(`server ${exited} before ready:\n${log.trim()}`);
      if (performance.now() > deadline)
        throw new Error(`not ready within ${options.readyTimeoutS} s:\n${log.trim()}`);
      const tick = performance.now();
      try {
        const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === 200) readyMs = performance.now() - t0;
      } catch {
        // not listening yet
      }
      if (Number.isNaN(readyMs)) {
        snapshot();
        await sleep(Math.max(0, 20 - (performance.now() - tick)));
      }
    }

    // 2. idle
    await sleep(options.idleS * 1000);
    if (exited) throw new Error(`server ${exited} while idle:\n${log.trim()}`);
    const idleTree = snapshot();

    // 3. sessions
    let loadedTree: TreeProcess[] = [];
    let peakKiB = NaN;
    if (options.sessions > 0) {
      for (let i = 0; i < options.sessions; i++) {
        const session = await JpegSession.open({ url, reference: clients.reference, fps: options.fps });
        sessions.push(session);
        session.start(clients.frames, options.fps);
      }
      peakKiB = 0;
      const streamEnd = performance.now() + options.streamS * 1000;
      while (performance.now() < streamEnd) {
        await sleep(Math.min(1000, Math.max(0, streamEnd - performance.now())));
        loadedTree = snapshot();
        peakKiB = Math.max(peakKiB, sumKiB(loadedTree));
      }
      if (exited) throw new Error(`server ${exited} while streaming:\n${log.trim()}`);
      const closed = sessions.filter((s) => s.closedByServer);
      if (closed.length > 0)
        console.warn(
          `  ${closed.length} session(s) closed by the server: ${JSON.stringify(closed[0]!.closedByServer)}`,
        );
    }
    return {
      readyMs,
      idleKiB: sumKiB(idleTree),
      idleTree,
      loadedKiB: options.sessions > 0 ? sumKiB(loadedTree) : NaN,
      peakKiB,
      loadedTree,
      scoresPerSession: median(sessions.map((s) => s.scores.length)),
      sessionErrors: sessions.reduce((n, s) => n + s.errors.length, 0),
    };
  } finally {
    await Promise.all(sessions.map((s) => Promise.race([s.close(), sleep(3000)]).catch(() => undefined)));
    const { forced, left } = await killTree(pgid, seen.values());
    if (forced) console.warn(`  ${command.label}: needed SIGKILL to stop the server`);
    if (left.length > 0)
      console.warn(`  ${command.label}: still alive after SIGKILL: ${left.map((p) => p.pid).join(', ')}`);
    else liveGroups.delete(pgid);
    child.stdout.destroy();
    child.stderr.destroy();
  }
}

function shortCmdline(p: TreeProcess, cwd: string): string {
  const line = p.cmdline.replaceAll(`${cwd}/`, '').replace(/\/[^\s]*\/node_modules\//g, '…/node_modules/');
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}

function printTree(title: string, tree: TreeProcess[], cwd: string): void {
  console.log(title);
  console.log('      pid     pgid  RSS MiB  comm             command line');
  for (const p of tree)
    console.log(
      `  ${String(p.pid).padStart(7)}  ${String(p.pgid).padStart(7)}  ${mib(p.rssKiB).padStart(7)}  ${p.comm.padEnd(15)}  ${shortCmdline(p, cwd)}`,
    );
  console.log(`  ${''.padStart(7)}  ${'total'.padStart(7)}  ${mib(sumKiB(tree)).padStart(7)}`);
}

// ---- main
const options = parseOptions(process.argv.slice(2), process.env);
const video = path.join(sharedDataDir(), 'video');
const clients: Clients = {
  reference: readFileSync(path.join(video, 'person-a_reference.jpg')),
  frames:
    options.sessions > 0 ? await encodeClip(path.join(video, 'person-a_320x240_3s.y4m'), options.fps) : [],
};
console.log(
  `bench:startup on ${process.platform} ${process.arch}, node ${process.version}: ${options.runs} run(s) per command (+${options.warmup} warm-up), ` +
    `idle ${options.idleS} s, ` +
    (options.sessions > 0
      ? `${options.sessions} session(s) × ${options.streamS} s at ${options.fps} fps ` +
        `(${clients.frames.length} JPEG frames, mean ${(clients.frames.reduce((s, f) => s + f.length, 0) / clients.frames.length / 1024).toFixed(1)} KiB)`
      : 'no sessions'),
);
for (const c of options.commands) console.log(`  ${c.label}: (cd ${c.cwd} && ${c.cmd})`);

const results = new Map<string, RunResult[]>(options.commands.map((c) => [c.label, []]));
const failures = new Map<string, string>();
for (let round = 0; round < options.warmup + options.runs; round++) {
  const warm = round < options.warmup;
  for (const command of options.commands) {
    if (failures.has(command.label)) continue;
    const tag = warm ? `warm-up ${round + 1}` : `run ${round - options.warmup + 1}/${options.runs}`;
    try {
      const r = await runOnce(command, options, clients);
      const perSession = (r.loadedKiB - r.idleKiB) / options.sessions;
      console.log(
        `[${command.label} ${tag}] ready ${r.readyMs.toFixed(0)} ms, idle ${mib(r.idleKiB)} MiB (${r.idleTree.length} processes)` +
          (options.sessions > 0
            ? `, ${options.sessions} sessions ${mib(r.loadedKiB)} MiB (peak ${mib(r.peakKiB)}) → ${mib(perSession)} MiB/session, ` +
              `${r.scoresPerSession} scores/session${r.sessionErrors ? `, ${r.sessionErrors} error events` : ''}`
            : ''),
      );
      if (options.allTrees) {
        printTree(`  idle:`, r.idleTree, command.cwd);
        if (options.sessions > 0) printTree(`  ${options.sessions} sessions:`, r.loadedTree, command.cwd);
      }
      if (!warm) results.get(command.label)!.push(r);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`[${command.label} ${tag}] FAILED: ${message}`);
      failures.set(command.label, message.split('\n')[0]!);
    }
  }
}

console.log('\nmedians (min–max) over runs:');
const header = ['command', 'runs', 'start-up to /readyz ms', 'idle tree RSS MiB', 'procs'];
if (options.sessions > 0)
  header.push(`+${options.sessions} sessions MiB`, 'per session MiB', 'scores/session');
const rows: string[][] = [header];
const range = (xs: number[], f: (x: number) => string): string =>
  xs.length === 0 ? '-' : `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
for (const c of options.commands) {
  const rs = results.get(c.label)!;
  const row = [
    c.label,
    String(rs.length),
    range(
      rs.map((r) => r.readyMs),
      (x) => x.toFixed(0),
    ),
    range(
      rs.map((r) => r.idleKiB),
      mib,
    ),
    range(
      rs.map((r) => r.idleTree.length),
      String,
    ),
  ];
  if (options.sessions > 0)
    row.push(
      range(
        rs.map((r) => r.loadedKiB),
        mib,
      ),
      range(
        rs.map((r) => (r.loadedKiB - r.idleKiB) / options.sessions),
        (x) => (x / 1024).toFixed(2),
      ),
      rs.length ? String(median(rs.map((r) => r.scoresPerSession))) : '-',
    );
  if (failures.has(c.label)) row.push(`FAILED: ${failures.get(c.label)}`);
  rows.push(row);
}
const widths = header.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
for (const r of rows)
  console.log(`  ${r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd());

for (const c of options.commands) {
  const rs = results.get(c.label)!;
  if (rs.length === 0) continue;
  // The run with the median idle RSS (the lower middle one for an even count).
  const r = [...rs].sort((a, b) => a.idleKiB - b.idleKiB)[(rs.length - 1) >> 1]!;
  printTree(`\n${c.label}: process tree when idle (run with the median idle RSS)`, r.idleTree, c.cwd);
  if (options.sessions > 0)
    printTree(`${c.label}: same run with ${options.sessions} sessions streaming`, r.loadedTree, c.cwd);
}
// Exit explicitly: nothing else to wait for, and sockets or timers left by a failed session must not hold us.
process.exit(failures.size > 0 ? 1 : 0);
