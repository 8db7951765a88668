/**
 * A flooding stream client, run as its own process (`socket-flood.ts` starts it) so that its send
 * loop does not share an event loop with the server or with the client a test measures.
 *
 * stdin, one JSON `FloodCommand` a line: floods `url` for `durationMs` (at most `maxMessages`
 * messages in all), then prints one JSON `FloodReport` line; stdin's end ends the process. Each
 * connection says hello and then sends `config` messages in a tight loop (alternating rates, so
 * that each one the server takes changes something) until the server closes it or says a fatal
 * error; the next connection resumes the session with the resume token of the last welcome, so the
 * flood lasts as long as asked with one session. The flood's frames are built once and written
 * straight to the TCP socket, `BATCH` to a write, with a yield between writes (to see the server's
 * answers): `ws.send` would cost a mask and a write per message and send an order of magnitude less.
 */
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { setImmediate as yieldNow, setTimeout as sleep } from 'node:timers/promises';
import { PROTOCOL_VERSION } from '@fv/protocol';
import { WebSocket } from 'ws';

export interface FloodCommand {
  /** `ws://…/v1/sessions/<id>/stream` */
  url: string;
  /** The session's unused token (or the resume token of the last report). */
  token: string;
  /**
   * New connections start during this long; each floods until the server stops it (or at
   * `maxMessages`, or 5 s past it).
   */
  durationMs: number;
  /** Messages sent at most, all connections together. */
  maxMessages: number;
  /** A new connection starts no sooner than this after the previous one started. */
  minReconnectMs: number;
}

export interface FloodConnection {
  /** Flood messages handed to the socket. */
  sent: number;
  /** Server messages received after the welcome (states and errors). */
  answered: number;
  states: number;
  /** The first fatal error the server said, or the last non-fatal one. */
  error: { code: string; fatal: boolean } | null;
  /** How the socket closed; null when it did not close within 5 s of the flood's end. */
  close: { code: number; reason: string } | null;
  /** From the first flood message to the last. */
  floodMs: number;
  /** The flood stopped at a limit (`maxMessages`, 5 s past the duration), not by the server. */
  stoppedByClient: boolean;
}

export interface FloodReport {
  type: 'report';
  connections: FloodConnection[];
  sent: number;
  /** The resume token of the last welcome: the next command's token. */
  token: string;
  /** Why a connection could not start (the flood ended there), or null. */
  failure: string | null;
}

const BATCH = 1024;
/** A connection the server does not stop floods this long past the duration at most. */
const OVERRUN_MS = 5000;
/** Bytes the flooder queues in this process beyond what the kernel took: enough to keep the pipe full. */
const MAX_BUFFERED = 1024 * 1024;

/** One masked client text frame (RFC 6455 §5.2; payloads under 126 bytes). */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  if (payload.length >= 126) throw new RangeError('short frames only');
  const mask = Buffer.from([0x5a, 0x13, 0xc4, 0x7e]);
  const masked = payload.map((byte, i) => byte ^ mask[i % 4]!);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** `BATCH` frames, `config` at 10 and 11 fps in turn. */
const FRAMES = Buffer.concat(
  Array.from({ length: BATCH }, (_, i) =>
    maskedTextFrame(JSON.stringify({ type: 'config', fps: 10 + (i & 1) })),
  ),
);

interface Started {
  connection: FloodConnection;
  closed: Promise<void>;
  resumeToken: string | null;
  failure: string | null;
}

async function floodOnce(url: string, token: string, deadline: number, budget: number): Promise<Started> {
  const connection: FloodConnection = {
    sent: 0,
    answered: 0,
    states: 0,
    error: null,
    close: null,
    floodMs: 0,
    stoppedByClient: false,
  };
  const socket = new WebSocket(url);
  let failure: string | null = null;
  let welcomed: (token: string | null) => void = () => undefined;
  const welcome = new Promise<string | null>((resolve) => (welcomed = resolve));
  socket.on('error', (error) => {
    failure ??= `socket error: ${error.message}`;
    welcomed(null);
  });
  const closed = new Promise<void>((resolve) => {
    socket.once('close', (code, reason) => {
      connection.close = { code, reason: reason.toString() };
      welcomed(null);
      resolve();
    });
  });
  let seenWelcome = false;
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) return;
    const message = JSON.parse(data.toString('utf8')) as {
      type: string;
      resumeToken?: string;
      code?: string;
      fatal?: boolean;
    };
    if (message.type === 'welcome' && !seenWelcome) {
      seenWelcome = true;
      welcomed(message.resumeToken ?? null);
      return;
    }
    connection.answered++;
    if (message.type === 'state') connection.states++;
    if (message.type === 'error' && !connection.error?.fatal) {
      connection.error = { code: message.code ?? '', fatal: message.fatal === true };
      if (!seenWelcome) {
        failure ??= `hello refused: ${message.code}`;
        welcomed(null);
      }
    }
  });
  await new Promise<void>((resolve) => {
    socket.once('open', () => resolve());
    socket.once('close', () => resolve());
  });
  if (socket.readyState === socket.OPEN) {
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
  }
  const timeout = setTimeout(() => {
    failure ??= 'no welcome within 10 s';
    welcomed(null);
  }, 10_000);
  const resumeToken = await welcome;
  clearTimeout(timeout);
  if (resumeToken === null) {
    failure ??= 'closed before the welcome';
    socket.terminate();
    return { connection, closed, resumeToken, failure };
  }

  // The connection under ws, written to directly (whole frames, so ws's own close frame still
  // goes between two of them).
  const tcp = (socket as unknown as { _socket: Socket })._socket;
  const started = performance.now();
  while (socket.readyState === socket.OPEN && !connection.error?.fatal) {
    if (connection.sent >= budget || Date.now() >= deadline + OVERRUN_MS) {
      connection.stoppedByClient = true;
      break;
    }
    tcp.write(FRAMES);
    connection.sent += BATCH;
    // Lets the server's answers (and its close) in; waits only while the kernel is not taking more.
    if (tcp.writableLength > MAX_BUFFERED) await sleep(1);
    else await yieldNow();
  }
  connection.floodMs = performance.now() - started;
  if (connection.stoppedByClient) socket.close(1000, 'flood over');
  // The server's close handshake, or ours; a socket that neither finishes is cut off.
  const cutOff = setTimeout(() => socket.terminate(), 5000);
  return { connection, closed: closed.finally(() => clearTimeout(cutOff)), resumeToken, failure };
}

async function flood(command: FloodCommand): Promise<FloodReport> {
  const deadline = Date.now() + command.durationMs;
  const connections: FloodConnection[] = [];
  const closes: Promise<void>[] = [];
  let token = command.token;
  let sent = 0;
  let failure: string | null = null;
  while (Date.now() < deadline && sent < command.maxMessages) {
    const startedAt = Date.now();
    const started = await floodOnce(command.url, token, deadline, command.maxMessages - sent);
    connections.push(started.connection);
    closes.push(started.closed);
    sent += started.connection.sent;
    if (started.failure !== null || started.resumeToken === null) {
      failure = started.failure ?? 'no resume token';
      break;
    }
    token = started.resumeToken;
    await sleep(Math.max(0, startedAt + command.minReconnectMs - Date.now()));
  }
  await Promise.all(closes);
  return { type: 'report', connections, sent, token, failure };
}

const lines = createInterface({ input: process.stdin });
process.stdout.write(`${JSON.stringify({ type: 'ready' })}\n`);
for await (const line of lines) {
  if (!line.trim()) continue;
  const report = await flood(JSON.parse(line) as FloodCommand);
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
