import { readFileSync } from 'node:fs';
import { parseY4m } from '@fv/core';
import { parseServerMessage, type ServerMessage } from '@fv/protocol';
import sharp from 'sharp';
import { WebSocket } from 'ws';

/** A multipart body for `inject`: files, then plain fields (an array value repeats the field). */
export function multipart(
  files: [string, Buffer][],
  fields: Record<string, string | string[]> = {},
): { payload: Buffer; headers: Record<string, string> } {
  const boundary = '----fvtestboundary';
  const fieldParts = Object.entries(fields).flatMap(([name, values]) =>
    [values]
      .flat()
      .map((value) =>
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`),
      ),
  );
  const parts = files.flatMap(([name, data]) => [
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    ),
    data,
    Buffer.from('\r\n'),
  ]);
  return {
    payload: Buffer.concat([...parts, ...fieldParts, Buffer.from(`--${boundary}--\r\n`)]),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}

/** Collects server messages and lets a test wait for one that satisfies a predicate. */
export class Inbox {
  readonly messages: ServerMessage[] = [];
  #waiters: { test: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];

  constructor(socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const message = parseServerMessage(data.toString('utf8'));
      this.messages.push(message);
      this.#waiters = this.#waiters.filter((w) => (w.test(message) ? (w.resolve(message), false) : true));
    });
  }

  next(test: (m: ServerMessage) => boolean, timeoutMs = 20_000): Promise<ServerMessage> {
    const seen = this.messages.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a message')), timeoutMs);
      this.#waiters.push({ test, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }
}

/** Opens a WebSocket (with extra upgrade headers, e.g. a browser's `Origin` or `Cookie`). */
export async function connect(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ socket: WebSocket; inbox: Inbox }> {
  const socket = new WebSocket(url, { headers });
  const inbox = new Inbox(socket);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  return { socket, inbox };
}

/** Streams a Y4M clip's frames as JPEG at 10 fps (real time: the session's rate runs on the wall clock). */
export async function streamJpeg(socket: WebSocket, file: string): Promise<void> {
  const clip = parseY4m(readFileSync(file));
  for (const frame of clip.frames.filter((_, i) => i % Math.max(1, Math.round(clip.fps / 10)) === 0)) {
    const jpeg = await sharp(Buffer.from(frame.data), {
      raw: { width: frame.width, height: frame.height, channels: 1 },
    })
      .jpeg({ quality: 85 })
      .toBuffer();
    socket.send(jpeg, { binary: true });
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A uniform grey JPEG: an image with no face in it. */
export function blankJpeg(size = 96): Promise<Buffer> {
  return sharp({ create: { width: size, height: size, channels: 3, background: '#808080' } })
    .jpeg()
    .toBuffer();
}
