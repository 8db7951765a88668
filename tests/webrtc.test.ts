import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetNamespace } from './support/netns.ts';
import { REPO_ROOT, sharedDataDir } from './support/shared-data.ts';
import { SERVER_COMMAND } from './support/server-process.ts';

const video = (name: string): string => path.join(sharedDataDir(), 'video', name);

function collect(child: ChildProcess): { out: () => string; exited: Promise<number | null> } {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { out: () => out, exited: new Promise((resolve) => child.once('exit', resolve)) };
}

describe('live verification over real WebRTC (server and Node client peer in a network namespace)', () => {
  let ns: NetNamespace;
  let server: ChildProcess;
  let serverUrl: string;

  beforeAll(async () => {
    ns = new NetNamespace();
    serverUrl = `http://${ns.innerAddress}:18181`;
    server = ns.spawn(SERVER_COMMAND[0], SERVER_COMMAND[1], {
      cwd: REPO_ROOT,
      env: { PORT: '18181', HOST: ns.innerAddress, LOG_LEVEL: 'warn' },
    });
    const log = collect(server);
    // Start-up loads the model and OpenCV: poll /healthz over the veth (bounded).
    for (let i = 0; i < 150; i++) {
      try {
        if ((await fetch(`${serverUrl}/healthz`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`server did not start:\n${log.out()}`);
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    ns?.close();
  });

  it.each([
    ['person-a_320x240_3s.y4m', 'matched'],
    ['person-b_320x240_3s.y4m', 'not_matched'],
  ])("npm run client streams %s against person A's reference → %s", async (clip, expected) => {
    const client = ns.spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'apps/server/src/cli/client.ts',
        '--server',
        serverUrl,
        '--reference',
        video('person-a_reference.jpg'),
        '--video',
        video(clip),
        '--json',
      ],
      { cwd: REPO_ROOT },
    );
    const { out, exited } = collect(client);
    expect(await exited, out()).toBe(0);
    const lines = out()
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const summary = lines.at(-1)!;
    const scores = lines.filter((l) => l['type'] === 'score');
    expect(summary).toMatchObject({ type: 'summary', serverVerdict: expected, lastVerdict: expected });
    // 3 s at a 10 fps analysis rate is 30 frames; at least half must come back scored even when
    // CI runs other suites on the same two cores.
    expect(scores.length).toBeGreaterThanOrEqual(15);
    expect(summary['serverFramesAnalysed']).toBe(scores.length);
    for (const s of scores) expect(s['emittedAt']).toBeGreaterThanOrEqual(s['capturedAt'] as number);
  });
  it('drains and exits cleanly on SIGTERM', async () => {
    // Runs last (vitest keeps declaration order within a file): stop the server and check its exit.
    const exited = new Promise<number | null>((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
