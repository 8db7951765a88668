import { readFileSync } from 'node:fs';
import { parseY4m } from '@fv/core';
import { PROTOCOL_VERSION, type ServerMessage } from '@fv/protocol';
import sharp from 'sharp';
import { connect, type Inbox } from './live-client.ts';

type Score = Extract<ServerMessage, { type: 'score' }>;
type State = Extract<ServerMessage, { type: 'state' }>;
type ErrorEvent = Extract<ServerMessage, { type: 'error' }>;

/**
 * A Y4M clip's frames as JPEG, sampled at `fps` the way a camera shows them (frame k of the clip is
 * on screen at k / clip.fps s). Encoded once, so sending costs the client next to nothing and the
 * server is what a load test measures.
 */
export async function encodeClip(file: string, fps = 15): Promise<Buffer[]> {
  const clip = parseY4m(readFileSync(file));
  const frames: Buffer[] = [];
  for (let t = 0; t < clip.frames.length / clip.fps; t += 1 / fps) {
    const frame = clip.frames[Math.min(clip.frames.length - 1, Math.floor(t * clip.fps))]!;
    frames.push(
      await sharp(Buffer.from(frame.data), { raw: { width: frame.width, height: frame.height, channels: 1 } })
        .jpeg({ quality: 85 })
        .toBuffer(),
    );
  }
  return frames;
}

export interface JpegSessionOptions {
  /** Server base URL, e.g. `http://198.19.1.1:8080`. */
  url: string;
  /** Reference photo the session is created with. */
  reference: Buffer;
  /** Extra headers for `POST /v1/sessions` (e.g. a tenant's `Authorization`). */
  headers?: Record<string, string>;
  /** Analysis rate asked for with `config` (the server then announces `streaming`). @defaultValue 10 */
  fps?: number;
}

/** A score as this client saw it: frame → score is server receipt (`capturedAt`) → client receipt. */
export interface ReceivedScore {
  readonly at: number;
  readonly latencyMs: number;
  readonly score: Score;
}

/**
 * One live session fed JPEG frames over its WebSocket (the protocol's fallback transport), in real
 * time, with backpressure: a frame due while the previous one still sits in the socket's buffer is
 * skipped, as a camera would, never queued.
 */
export class JpegSession {
  readonly sessionId: string;
  readonly scores: ReceivedScore[] = [];
  readonly states: (State & { at: number })[] = [];
  readonly errors: ErrorEvent[] = [];
  framesSent = 0;
  framesSkipped = 0;
  /** The server closed the socket (not this client). */
  closedByServer: { code: number; reason: string } | null = null;
  readonly #socket: Awaited<ReturnType<typeof connect>>['socket'];
  readonly #inbox: Inbox;
  #timer: NodeJS.Timeout | null = null;
  #closing = false;

  private constructor(sessionId: string, connection: Awaited<ReturnType<typeof connect>>) {
    this.sessionId = sessionId;
    this.#socket = connection.socket;
    this.#inbox = connection.inbox;
    // Registered after the inbox's listener, so the message it just parsed is the last one.
    this.#socket.on('message', () => {
      const message = this.#inbox.messages.at(-1)!;
      const at = Date.now();
      if (message.type === 'score')
        this.scores.push({ at, latencyMs: at - message.capturedAt, score: message });
      else if (message.type === 'state') this.states.push({ ...message, at });
      else if (message.type === 'error') this.errors.push(message);
    });
    this.#socket.on('close', (code, reason) => {
      if (!this.#closing) this.closedByServer = { code, reason: reason.toString() };
      this.#stopSending();
    });
  }

  /** Creates a session, says hello and asks for the analysis rate; resolves once welcomed. */
  static async open(options: JpegSessionOptions): Promise<JpegSession> {
    const form = new FormData();
    form.append('reference', new Blob([new Uint8Array(options.reference)]), 'reference.jpg');
    const created = await fetch(`${options.url}/v1/sessions`, {
      method: 'POST',
      body: form,
      headers: options.headers ?? {},
    });
    const body = (await created.json()) as { sessionId: string; token: string };
    if (created.status !== 201)
      throw new Error(`POST /v1/sessions: ${created.status} ${JSON.stringify(body)}`);
    const connection = await connect(
      `${options.url.replace(/^http/, 'ws')}/v1/sessions/${body.sessionId}/stream`,
    );
    const session = new JpegSession(body.sessionId, connection);
    connection.socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token: body.token }));
    await connection.inbox.next((m) => m.type === 'welcome' || (m.type === 'error' && m.fatal));
    if (session.errors.some((e) => e.fatal))
      throw new Error(`hello refused: ${JSON.stringify(session.errors)}`);
    connection.socket.send(JSON.stringify({ type: 'config', fps: options.fps ?? 10 }));
    return session;
  }

  /** Starts sending `frames` in a loop at `sendFps` (real time: the server samples on the wall clock). */
  start(frames: Buffer[], sendFps = 15): void {
    if (this.#timer || this.#closing) return;
    const interval = 1000 / sendFps;
    const started = performance.now();
    let tick = 0;
    const send = (): void => {
      if (this.#socket.readyState !== this.#socket.OPEN) return;
      if (this.#socket.bufferedAmount > 0) this.framesSkipped++;
      else {
        this.#socket.send(frames[tick % frames.length]!, { binary: true });
        this.framesSent++;
      }
      tick++;
      this.#timer = setTimeout(send, Math.max(0, started + tick * interval - performance.now()));
    };
    send();
  }

  #stopSending(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** The latest `state` event, if any. */
  get state(): (State & { at: number }) | undefined {
    return this.states.at(-1);
  }

  /** Says bye and closes the socket; resolves once it is closed. Idempotent. */
  async close(): Promise<void> {
    this.#stopSending();
    if (this.#socket.readyState === this.#socket.CLOSED) return;
    const closed = new Promise((resolve) => this.#socket.once('close', resolve));
    if (!this.#closing) {
      this.#closing = true;
      if (this.#socket.readyState === this.#socket.OPEN) this.#socket.send(JSON.stringify({ type: 'bye' }));
      this.#socket.close(1000);
      // A server that does not answer the close handshake still lets the test end.
      setTimeout(() => this.#socket.terminate(), 2000).unref();
    }
    await closed;
  }
}

/** Resident and peak-resident memory of a process, MiB (`/proc/<pid>/status`). */
export function memoryOf(pid: number): { rssMiB: number; hwmMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
}

/** CPU seconds a process has used (user + system, `/proc/<pid>/stat`). */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Nearest-rank percentile; NaN for no values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
