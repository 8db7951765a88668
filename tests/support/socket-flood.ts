import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './shared-data.ts';
import type { FloodCommand, FloodReport } from './socket-flooder.ts';

export type { FloodCommand, FloodConnection, FloodReport } from './socket-flooder.ts';

/** The flooding client (`socket-flooder.ts`) in its own process, driven one flood at a time. */
export class Flooder {
  readonly #child: ChildProcess;
  readonly #lines: AsyncIterator<string>;
  #stderr = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
    this.#lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    child.stderr!.on('data', (d: Buffer) => (this.#stderr += d.toString()));
  }

  /** Starts the process; resolves once it is ready for a command. */
  static async start(): Promise<Flooder> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(REPO_ROOT, 'tests/support/socket-flooder.ts')],
      { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const flooder = new Flooder(child);
    const ready = await flooder.#next();
    if ((ready as { type?: string }).type !== 'ready') throw new Error(`flooder: ${JSON.stringify(ready)}`);
    return flooder;
  }

  /** Floods as `command` says; resolves with what each connection saw. */
  async flood(command: FloodCommand): Promise<FloodReport> {
    this.#child.stdin!.write(`${JSON.stringify(command)}\n`);
    return (await this.#next()) as FloodReport;
  }

  async #next(): Promise<unknown> {
    const { value, done } = await this.#lines.next();
    if (done) throw new Error(`the flooder exited (${this.#child.exitCode}):\n${this.#stderr}`);
    return JSON.parse(value);
  }

  /** Ends the process (stdin closed; killed if it lingers). Idempotent. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.stdin!.end();
    const kill = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(kill);
  }
}
