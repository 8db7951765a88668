import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * A throwaway `redis-server` on a free port (loopback unless told otherwise), persistence off (the suite's own, never the
 * machine's). `restart()` stops and starts it on the same port, for outage tests.
 */
export interface TestRedisOptions {
  /** Address to listen on. @defaultValue 127.0.0.1 */
  host?: string;
  /** Starts the server process (e.g. inside a network namespace). @defaultValue a plain spawn */
  spawn?: (command: string, args: string[]) => ChildProcess;
}

export class TestRedis {
  readonly port: number;
  readonly host: string;
  readonly #spawn: (command: string, args: string[]) => ChildProcess;
  #process: ChildProcess | null = null;

  private constructor(port: number, options: TestRedisOptions) {
    this.port = port;
    this.host = options.host ?? '127.0.0.1';
    this.#spawn = options.spawn ?? ((command, args) => spawn(command, args, { stdio: 'ignore' }));
  }

  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  static async start(options: TestRedisOptions = {}): Promise<TestRedis> {
    const redis = new TestRedis(await freePort(), options);
    await redis.#start();
    return redis;
  }

  async #start(): Promise<void> {
    this.#process = this.#spawn('redis-server', [
      '--port',
      String(this.port),
      '--bind',
      this.host,
      // Protected mode refuses non-loopback clients; a test Redis on a private address needs them.
      '--protected-mode',
      this.host === '127.0.0.1' ? 'yes' : 'no',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
    ]);
    // Bounded wait for PING.
    for (let i = 0; i < 100; i++) {
      const client = new Redis(this.url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      client.on('error', () => {});
      try {
        await client.connect();
        if ((await client.ping()) === 'PONG') return;
      } catch {
        // not up yet
      } finally {
        client.disconnect();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.#start();
  }
}
