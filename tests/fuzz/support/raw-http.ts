import { connect } from 'node:net';

/** One HTTP/1.1 response as it came off the wire (the first one, if the server sent more). */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * What a raw exchange ended with: a response, or the server closing without one — `early` when it
 * closed before the whole request was written (a server may answer a refused upload and close
 * without reading it; the answer can then be lost to the TCP reset).
 */
export type RawOutcome = { response: RawResponse } | { response: null; closedWith: string; early: boolean };

/** The first response in `bytes` (status line, headers, a Content-Length body), or null if incomplete. */
export function parseResponse(bytes: Buffer): RawResponse | null {
  const end = bytes.indexOf('\r\n\r\n');
  if (end === -1) return null;
  const [statusLine = '', ...lines] = bytes.toString('latin1', 0, end).split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match) throw new Error(`not an HTTP response: ${JSON.stringify(statusLine.slice(0, 100))}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  const rest = bytes.subarray(end + 4);
  if (rest.length < length) return null;
  return { status: Number(match[1]), headers, body: rest.subarray(0, length).toString('utf8') };
}

/**
 * Sends `segments` as they are over a new TCP connection to 127.0.0.1:`port` (one write each, a
 * macrotask apart, so the server's parsers see the body split across reads), half-closes the
 * connection, and reads the first response. A server that neither answers nor closes within
 * `timeoutMs` is a hang and rejects.
 */
export function rawExchange(port: number, segments: Buffer[], timeoutMs = 5000): Promise<RawOutcome> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    const received: Buffer[] = [];
    let settled = false;
    let socketError = '';
    let written = false;
    const finish = (outcome: RawOutcome | Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const timer = setTimeout(
      () => finish(new Error(`no response and no close within ${timeoutMs} ms (a hang)`)),
      timeoutMs,
    );
    const check = (closed: boolean): void => {
      const response = parseResponse(Buffer.concat(received));
      if (response) finish({ response });
      else if (closed) finish({ response: null, closedWith: socketError || 'close', early: !written });
    };
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      try {
        check(false);
      } catch (error) {
        finish(error as Error);
      }
    });
    // The server may answer early (a refusal before the body) and close while we still write.
    socket.on('error', (error: NodeJS.ErrnoException) => (socketError = error.code ?? error.message));
    socket.on('close', () => {
      try {
        check(true);
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.once('connect', () => {
      void (async () => {
        for (const segment of segments) {
          if (socket.destroyed || settled) return;
          socket.write(segment);
          await new Promise((r) => setTimeout(r, 0));
        }
        if (!socket.destroyed) socket.end(() => (written = true));
      })();
    });
  });
}
