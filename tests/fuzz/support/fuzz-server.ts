import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FaceVerifier } from '@fv/core';
import { ERROR_CODES, parseServerMessage, type ServerMessage } from '@fv/protocol';
import type { Parameters } from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { WebSocket, type RawData } from 'ws';
import { buildApp } from '../../../apps/server/src/app.ts';
import { loadConfig } from '../../../apps/server/src/config.ts';
import { multipart, streamJpeg } from '../../support/live-client.ts';
import { MODEL_DIR, sharedDataDir } from '../../support/shared-data.ts';
import { PROTOCOL_VERSION } from '@fv/protocol';

/** A short, printable description of a fuzz case (counterexamples can be megabytes long). */
export function brief(value: unknown, max = 300): string {
  const text =
    value instanceof Uint8Array
      ? `<${value.length} bytes> ${Buffer.from(value.subarray(0, 48)).toString('hex')}`
      : (JSON.stringify(value, (_k, v: unknown) =>
          v instanceof Uint8Array
            ? `<${v.length} bytes> ${Buffer.from(v.subarray(0, 48)).toString('hex')}`
            : v,
        ) ?? String(value));
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

/**
 * fast-check settings for a fuzz target: the fixed seed and run count, and a failure report that
 * names the seed and a shortened counterexample (a full one can be megabytes).
 */
export function fuzzRun<T>(seed: number, numRuns: number): Parameters<T> {
  return {
    seed,
    numRuns,
    reporter: (details) => {
      if (!details.failed) return;
      const cause =
        details.errorInstance instanceof Error
          ? details.errorInstance.message
          : String(details.errorInstance);
      throw new Error(
        `fuzz case failed (seed ${details.seed}, path ${details.counterexamplePath}, after ${details.numRuns} runs, shrunk ${details.numShrinks}×): ${cause}\ncounterexample: ${brief(details.counterexample)}`,
      );
    },
  };
}

export const video = (name: string): string => path.join(sharedDataDir(), 'video', name);

/** Counts outcomes by key and prints them as a table (the README copies these figures). */
export class Tally {
  readonly counts = new Map<string, number>();

  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  get total(): number {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }

  print(title: string): void {
    const rows = [...this.counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const width = Math.max(8, ...rows.map(([k]) => k.length));
    const lines = rows.map(([k, n]) => `  ${k.padEnd(width)}  ${String(n).padStart(6)}`);
    console.log(`${title} (${this.total} cases)\n${lines.join('\n')}`);
  }
}

/** Asserts an error code is one of the table's and not INTERNAL (an unexpected exception). */
export function expectCoded(code: unknown, where: string): void {
  expect(Object.keys(ERROR_CODES), `${where}: code ${String(code)}`).toContain(code);
  expect(code, `${where}: an INTERNAL error means an unexpected exception escaped`).not.toBe('INTERNAL');
}

/**
 * A WebSocket client that queues what the server says, in order, so a fuzz loop can take the
 * next message after each frame it sends. Every message must pass `parse` (the protocol's parser
 * for that channel), and every error message must carry a code from the table.
 */
export class FuzzSocket<M extends { type: string } = ServerMessage> {
  readonly socket: WebSocket;
  readonly #queue: M[] = [];
  #wake: (() => void) | null = null;
  /** A bad server message, kept for the test to throw (an event handler cannot fail a test). */
  #failure: unknown = null;
  closeCode: number | null = null;
  closeReason = '';

  private constructor(socket: WebSocket, parse: (text: string) => M) {
    this.socket = socket;
    socket.on('message', (data: RawData, isBinary: boolean) => {
      try {
        expect(isBinary, 'the server sends JSON text only').toBe(false);
        const message = parse((data as Buffer).toString('utf8'));
        if (message.type === 'error')
          expectCoded((message as { code?: unknown }).code, 'server error message');
        this.#queue.push(message);
      } catch (error) {
        this.#failure ??= error;
      }
      this.#wake?.();
    });
    socket.on('close', (code: number, reason: Buffer) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      this.#wake?.();
    });
  }

  static async open<T extends { type: string } = ServerMessage>(
    url: string,
    parse: (text: string) => T = parseServerMessage as unknown as (text: string) => T,
  ): Promise<FuzzSocket<T>> {
    const socket = new WebSocket(url);
    const client = new FuzzSocket<T>(socket, parse);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    return client;
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /**
   * The next message that `accept` takes, skipping those `skip` names; null when the socket
   * closes first. A message neither skipped nor accepted fails the test: the order is the protocol.
   */
  async next(
    accept: (m: M) => boolean,
    { skip = () => false, timeoutMs = 10_000 }: { skip?: (m: M) => boolean; timeoutMs?: number } = {},
  ): Promise<M | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#failure) throw this.#failure;
      const message = this.#queue.shift();
      if (message) {
        if (skip(message)) continue;
        expect(accept(message), `unexpected message ${JSON.stringify(message).slice(0, 300)}`).toBe(true);
        return message;
      }
      if (this.closeCode !== null) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no server message within ${timeoutMs} ms (a hang)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => (clearTimeout(timer), resolve());
      });
      this.#wake = null;
    }
  }

  /** As {@link next}, but the socket closing first fails the test, with the close code and reason. */
  async take(
    accept: (m: M) => boolean,
    options: { skip?: (m: M) => boolean; timeoutMs?: number } = {},
  ): Promise<M> {
    const message = await this.next(accept, options);
    if (message === null)
      throw new Error(`the server closed the socket: ${this.closeCode} ${this.closeReason}`);
    return message;
  }

  async close(): Promise<void> {
    if (this.closeCode !== null) return;
    const closed = new Promise((resolve) => this.socket.once('close', resolve));
    this.socket.close();
    await closed;
  }
}

export interface FuzzServer {
  app: FastifyInstance;
  verifier: FaceVerifier;
  /** `ws://127.0.0.1:<port>` */
  wsBase: string;
  /** A new session (no reference unless asked), as `POST /v1/sessions` returns it. */
  createSession(reference?: Buffer): Promise<{ sessionId: string; token: string }>;
  /** A new session's stream, past hello, welcome and the first state message. */
  openStream(reference?: Buffer): Promise<{ sessionId: string; client: FuzzSocket }>;
  close(): Promise<void>;
}

/** The real app on a free port, with one shared verifier, as the server runs it (embedded mode). */
export async function startFuzzServer(env: Record<string, string> = {}): Promise<FuzzServer> {
  const verifier = await FaceVerifier.create({ modelDir: MODEL_DIR, embedder: { intraOpThreads: 1 } });
  const app = await buildApp({
    // Thousands of requests and messages from one address in a minute: the rate limits and message
    // budgets are not under test here (tests/socket-flood.test.ts and the route tests cover them).
    config: loadConfig({
      DETECT_WORKERS: '1',
      RATE_LIMIT_PER_MINUTE: '1000000',
      KEY_RATE_LIMIT_PER_MINUTE: '1000000',
      WS_MESSAGES_PER_SECOND: '1000000',
      WS_MESSAGE_BURST: '1000000',
      OPS_MESSAGES_PER_SECOND: '1000000',
      OPS_MESSAGE_BURST: '1000000',
      ...env,
    }),
    verifier,
    logger: false,
  });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const wsBase = address.replace('http', 'ws');

  const createSession = async (reference?: Buffer): Promise<{ sessionId: string; token: string }> => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/sessions',
      ...multipart(reference ? [['reference', reference]] : []),
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  };

  const openStream = async (reference?: Buffer): Promise<{ sessionId: string; client: FuzzSocket }> => {
    const { sessionId, token } = await createSession(reference);
    const client = await FuzzSocket.open(`${wsBase}/v1/sessions/${sessionId}/stream`);
    client.socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
    expect(await client.next((m) => m.type === 'welcome')).toMatchObject({ sessionId });
    expect(await client.next((m) => m.type === 'state')).toBeTruthy();
    return { sessionId, client };
  };

  return {
    app,
    verifier,
    wsBase,
    createSession,
    openStream,
    close: async () => {
      await app.close();
      await verifier.close();
    },
  };
}

/**
 * The server still serves after a fuzz run: `/healthz` answers, and a new session streams JPEG
 * frames of person A against person A's reference and scores them as a match.
 */
export async function expectStillServing(server: FuzzServer): Promise<void> {
  const health = await server.app.inject('/healthz');
  expect(health.statusCode).toBe(200);
  const { client } = await server.openStream(readFileSync(video('person-a_reference.jpg')));
  await streamJpeg(client.socket, video('person-a_320x240_3s.y4m'));
  const scores: ServerMessage[] = [];
  // Real time: frames are analysed as they arrive; the last ones need a moment after the stream.
  const settle = Date.now() + 2000;
  while (Date.now() < settle) {
    const m = await client.next(() => true, { timeoutMs: 2000 }).catch(() => null);
    if (m === null) break;
    if (m.type === 'score') scores.push(m);
    if (m.type === 'error') throw new Error(`error while streaming: ${m.code} ${m.message}`);
  }
  expect(scores.length).toBeGreaterThanOrEqual(10);
  expect(scores.at(-1)).toMatchObject({ type: 'score', verdict: 'matched', faceCount: 1 });
  await client.close();
}
