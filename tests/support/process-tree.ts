// A process and everything it started, as Linux's /proc sees it: members, their resident memory,
// and a bounded way to end them all (bench:startup).
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface TreeProcess {
  pid: number;
  ppid: number;
  pgid: number;
  /** Clock ticks after boot the process started at: with the pid, names it across pid reuse. */
  startTime: number;
  /** The kernel's short name (`comm`, at most 15 characters; npm sets it to its title). */
  comm: string;
  /** The command line, arguments joined by spaces. */
  cmdline: string;
  /** Resident memory, KiB (`VmRSS`); 0 for a zombie. */
  rssKiB: number;
}

function readProcess(pid: number): TreeProcess | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: it runs from the first '(' to the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return null;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replaceAll('\0', ' ');
    } catch {
      // Gone between reads: keep what we have.
    }
    return {
      pid,
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      startTime: Number(fields[19]),
      comm,
      cmdline,
      rssKiB: rss ? Number(rss[1]) : 0,
    };
  } catch {
    return null; // exited while being read
  }
}

/** Every live process on the machine (those this user may read). */
export function allProcesses(): TreeProcess[] {
  const out: TreeProcess[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProcess(Number(name));
    if (p) out.push(p);
  }
  return out;
}

/**
 * The live processes of `root`'s tree: `root` itself, its descendants (by parent pid) and every
 * member of the process group `root` leads (which keeps orphans whose parent already exited).
 */
export function processTree(root: number): TreeProcess[] {
  const all = allProcesses();
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const inTree = (p: TreeProcess): boolean => {
    if (p.pgid === root) return true;
    for (let q: TreeProcess | undefined = p, hops = 0; q && hops < 64; q = byPid.get(q.ppid), hops++)
      if (q.pid === root) return true;
    return false;
  };
  return all.filter(inTree).sort((a, b) => a.pid - b.pid);
}

/**
 * Ends a process group started with `detached: true` (its leader's pid is `pgid`) and any other
 * process in `seen` still alive under the same identity: SIGTERM, then SIGKILL after `graceMs`.
 * Resolves once none is left (or after a further bounded wait); never throws.
 */
export async function killTree(
  pgid: number,
  seen: Iterable<Pick<TreeProcess, 'pid' | 'startTime'>> = [],
  graceMs = 10_000,
): Promise<{ forced: boolean; left: TreeProcess[] }> {
  const known = new Map<number, number>();
  for (const p of seen) known.set(p.pid, p.startTime);
  const alive = (): TreeProcess[] => {
    const tree = processTree(pgid);
    const pids = new Set(tree.map((p) => p.pid));
    for (const [pid, startTime] of known) {
      if (pids.has(pid)) continue;
      const p = readProcess(pid);
      if (p && p.startTime === startTime) tree.push(p);
    }
    return tree;
  };
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pgid, sig);
    } catch {
      // the group is gone
    }
    for (const p of alive()) {
      try {
        process.kill(p.pid, sig);
      } catch {
        // gone
      }
    }
  };
  const waitGone = async (ms: number): Promise<boolean> => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (alive().length === 0) return true;
      await sleep(50);
    }
    return alive().length === 0;
  };
  signal('SIGTERM');
  if (await waitGone(graceMs)) return { forced: false, left: [] };
  signal('SIGKILL');
  await waitGone(5000);
  return { forced: true, left: alive() };
}

/** Synchronous last resort (an `exit` handler): SIGKILL to the whole group. */
export function killGroupNow(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // the group is gone
  }
}
