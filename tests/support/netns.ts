import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

/**
 * A private network namespace with a veth pair, so WebRTC peers gather candidates on an address
 * of their own (198.18.0.0/15, reserved for benchmarking) instead of the machine's interfaces.
 * Needs root and iproute2; both are present in CI (.ci/run installs iproute2).
 */
export class NetNamespace {
  readonly name: string;
  /** Address inside the namespace (servers bind here). */
  readonly innerAddress: string;
  /** Address of the host end of the veth pair. */
  readonly hostAddress: string;
  readonly #hostLink: string;
  #closed = false;

  constructor(tag = String(process.pid)) {
    const id = Number(tag) % 250;
    this.name = `fv-${tag}`;
    this.#hostLink = `fvh${tag}`.slice(0, 15);
    const innerLink = `fvn${tag}`.slice(0, 15);
    this.innerAddress = `198.19.${id}.1`;
    this.hostAddress = `198.19.${id}.2`;
    const ip = (...args: string[]): void => {
      execFileSync('ip', args, { stdio: 'pipe' });
    };
    ip('netns', 'add', this.name);
    try {
      ip('-n', this.name, 'link', 'set', 'lo', 'up');
      ip('link', 'add', this.#hostLink, 'type', 'veth', 'peer', 'name', innerLink);
      ip('link', 'set', innerLink, 'netns', this.name);
      ip('addr', 'add', `${this.hostAddress}/24`, 'dev', this.#hostLink);
      ip('link', 'set', this.#hostLink, 'up');
      ip('-n', this.name, 'addr', 'add', `${this.innerAddress}/24`, 'dev', innerLink);
      ip('-n', this.name, 'link', 'set', innerLink, 'up');
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /** Starts a command inside the namespace. */
  spawn(
    command: string,
    args: string[],
    options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
  ): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.name, command, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  /** Deletes the namespace (and with it the veth pair). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'pipe' });
    } catch {
      // already gone
    }
    try {
      execFileSync('ip', ['link', 'del', this.#hostLink], { stdio: 'pipe' });
    } catch {
      // removed with the namespace
    }
  }
}
