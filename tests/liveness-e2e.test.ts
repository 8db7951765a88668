// Active liveness end to end: the production server and `npm run client` over real WebRTC in a
// network namespace, on a shared talking-head clip (d19, person B; its labels are in
// tests/fixtures/liveness-labels/). A cooperative person (--liveness-script) passes; the same clip
// replayed unchanged does not. The clip is decoded with ffmpeg into a temp dir (never committed).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetNamespace } from './support/netns.ts';
import { REPO_ROOT, sharedDataDir } from './support/shared-data.ts';
import { run, startServer } from './support/server-process.ts';

const HAS_FFMPEG = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
const CLIP = 'd19';
const LABELS = path.join(REPO_ROOT, 'tests/fixtures/liveness-labels', `${CLIP}.json`);
/** A labelled neutral frame of the clip: the reference photo (the clips have none of their own). */
const REFERENCE_FRAME = 65;

/** The client's JSON lines (score, challenge and liveness events, then the summary). */
function jsonLines(out: string): Record<string, unknown>[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe.skipIf(!HAS_FFMPEG)('active liveness over real WebRTC (npm run client, d19)', () => {
  let ns: NetNamespace;
  let server: Awaited<ReturnType<typeof startServer>>;
  let dir: string;
  let video: string;
  let reference: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fv-liveness-e2e-'));
    const mp4 = path.join(sharedDataDir(), 'video', 'clips', `${CLIP}.mp4`);
    video = path.join(dir, `${CLIP}.y4m`);
    reference = path.join(dir, 'reference.jpg');
    // At the source's own rate, so the labels' frame indexes are the Y4M's.
    execFileSync('ffmpeg', ['-v', 'error', '-i', mp4, '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', video]);
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-i',
      mp4,
      '-vf',
      `select=eq(n\\,${REFERENCE_FRAME})`,
      '-frames:v',
      '1',
      '-q:v',
      '2',
      reference,
    ]);
    ns = new NetNamespace();
    server = await startServer(ns, 18191, {});
  });

  afterAll(async () => {
    await server?.stop();
    ns?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the client against the server (bounded) and returns its summary and events. */
  async function client(args: string[], timeoutMs: number) {
    const child = ns.spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'apps/server/src/cli/client.ts',
        '--server',
        server.url,
        '--reference',
        reference,
        '--video',
        video,
        '--liveness-retries',
        '0',
        '--json',
        ...args,
      ],
      { cwd: REPO_ROOT },
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const { code, out } = await run(child).finally(() => clearTimeout(timer));
    expect(code, out).toBe(0);
    const lines = jsonLines(out);
    return { out, summary: lines.at(-1)!, lines };
  }

  it('a cooperative person (--liveness-script) answers the smile challenge: liveness passed, verified', async () => {
    const { out, summary, lines } = await client(
      [
        '--liveness-script',
        LABELS,
        '--liveness-action',
        'smile',
        '--liveness-challenges',
        '1',
        '--max-seconds',
        '20',
      ],
      30_000,
    );
    expect(
      lines.filter((l) => l['type'] === 'challenge'),
      out,
    ).toHaveLength(1);
    expect(summary, out).toMatchObject({
      type: 'summary',
      serverVerdict: 'matched',
      liveness: 'passed',
      decision: 'verified',
      challenges: [{ action: 'smile', status: 'passed' }],
    });
  }, 35_000);

  it('the same clip replayed unchanged does not pass three challenges: not verified', async () => {
    const { out, summary } = await client(
      [
        '--liveness-action',
        'smile,open_mouth,turn_left,turn_right',
        '--liveness-challenges',
        '3',
        '--loops',
        '2',
      ],
      30_000,
    );
    expect(summary, out).toMatchObject({ type: 'summary', serverVerdict: 'matched' });
    expect(summary['liveness'], out).not.toBe('passed');
    expect(summary['decision'], out).not.toBe('verified');
  }, 35_000);
});

describe('npm run client: liveness options', () => {
  it.each([
    [['--liveness', 'maybe'], /--liveness must be off or active/],
    [['--liveness-action', 'smile,wave'], /--liveness-action "wave" is not one of/],
    [['--liveness-action', 'smile', '--liveness-challenges', '2'], /more than the 1 --liveness-action/],
    [['--liveness-script', path.join(REPO_ROOT, 'package.json')], /--liveness-script .*not a label file/],
    [
      ['--liveness-script', path.join(REPO_ROOT, 'tests/fixtures/liveness-labels/d12.json')],
      /labelled at 25 fps/,
    ],
  ])('refuses %j with exit 2 and says why', async (args, message) => {
    const child = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'apps/server/src/cli/client.ts',
        '--server',
        'http://127.0.0.1:9',
        '--reference',
        'reference.jpg',
        '--video',
        path.join(sharedDataDir(), 'video', 'person-a_320x240_3s.y4m'),
        ...args,
      ],
      { cwd: REPO_ROOT, encoding: 'utf8', timeout: 20_000 },
    );
    expect(child.status, child.stderr).toBe(2);
    expect(child.stderr).toMatch(message);
  });
});
