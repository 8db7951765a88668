import {
  LIVE_LIMITS,
  ProtocolError,
  parseClientMessage,
  parseOpsClientMessage,
  parseOpsServerMessage,
  type ClientMessage,
  type OpsServerMessage,
  type ServerMessage,
} from '@fv/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FuzzSocket,
  Tally,
  expectStillServing,
  fuzzRun,
  startFuzzServer,
  type FuzzServer,
} from './support/fuzz-server.ts';
import { PROTOCOL_VERSION } from '@fv/protocol';

/**
 * Protocol fuzzing through the real server: fuzzed text frames over live WebSocket sessions (and
 * the operator channel), each answered as the protocol says. The parsers alone are fuzzed in
 * packages/protocol/src/live.fuzz.test.ts; this suite checks the server around them.
 */

const RUNS = 10_000;
/** The WebSocket layer's own bound (app.ts): larger frames are refused with 1009 before parsing. */
const WS_MAX_PAYLOAD = LIVE_LIMITS.maxEnrollImageLength + 1024;
const TOKEN = 'tok_0123456789abcdef0123456789';
const VALID: Record<string, unknown>[] = [
  { type: 'hello', protocol: PROTOCOL_VERSION, token: TOKEN },
  {
    type: 'offer',
    sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n',
  },
  {
    type: 'ice',
    candidate: {
      candidate: 'candidate:1 1 udp 2122260223 198.19.0.1 5000 typ host',
      sdpMid: '0',
      sdpMLineIndex: 0,
    },
  },
  { type: 'ice', candidate: null },
  { type: 'enroll', source: 'frame' },
  { type: 'enroll', source: 'image', image: '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJ' },
  { type: 'config', fps: 10 },
  { type: 'bye' },
];
const KEYS = [
  'type',
  'protocol',
  'token',
  'sdp',
  'candidate',
  'source',
  'image',
  'fps',
  '__proto__',
  'constructor',
];

/** A frame as sent: text (encoded as UTF-8 by the client) or raw bytes in a text frame. */
type Frame = { kind: string; text: string } | { kind: string; bytes: Uint8Array };

const wrongValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, '', [], {}, '1', 'bye', 'hello', 'enroll'),
  fc.string({ maxLength: 40, unit: 'binary' }),
  fc.integer(),
  fc.double({ noNaN: true }),
);
const huge = fc
  .tuple(
    fc.constantFrom(65_537, 70_000, 250_000),
    fc.constantFrom('a', 'é', '"', '\\', '\u0000', '😀', 'A/+='),
  )
  .map(([size, fill]) => fill.repeat(Math.ceil(size / fill.length)));
/** Replaces, removes or adds a field (known keys or random ones), with wrong types or huge strings. */
function mutationOf(keys: string[]) {
  const key = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...keys) }, fc.string({ maxLength: 12 }));
  return fc.oneof(
    { weight: 10, arbitrary: fc.record({ op: fc.constant('set' as const), key, value: wrongValue }) },
    { weight: 5, arbitrary: fc.record({ op: fc.constant('delete' as const), key }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('huge' as const), key, value: huge }) },
  );
}
/** Edits on the JSON text: drop, insert or duplicate characters; wrap; repeat keys. */
const textEdit = fc.oneof(
  fc.constant((t: string) => t),
  fc.nat().map((i) => (t: string) => t.slice(0, i % (t.length + 1)) + t.slice((i % (t.length + 1)) + 1)),
  fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 4, unit: 'binary' })).map(
    ([i, s]) =>
      (t: string) =>
        t.slice(0, i % (t.length + 1)) + s + t.slice(i % (t.length + 1)),
  ),
  fc.constant((t: string) => `[${t}]`),
  fc.constant((t: string) => ` \n\t${t}\n `),
  fc.constant((t: string) => `${t}${t}`),
  fc
    .constantFrom('bye', 'hello', 'enroll', 'offer')
    .map((type) => (t: string) => t.replace(/}$/, `,"type":"${type}"}`)),
);
/** Valid messages with fields mutated, then their JSON text edited. */
function mutatedFrom(valid: Record<string, unknown>[], keys: string[]): fc.Arbitrary<Frame> {
  return fc
    .tuple(fc.constantFrom(...valid), fc.array(mutationOf(keys), { minLength: 1, maxLength: 3 }), textEdit)
    .map(([base, mutations, edit]) => {
      const copy: Record<string, unknown> = { ...base };
      for (const m of mutations) {
        if (m.op === 'delete') delete copy[m.key];
        // defineProperty: a `__proto__` key becomes an own property, as JSON.parse makes it.
        else
          Object.defineProperty(copy, m.key, {
            value: m.value,
            enumerable: true,
            configurable: true,
            writable: true,
          });
      }
      return { kind: 'mutated message', text: edit(JSON.stringify(copy)) };
    });
}
/** Valid messages cut short. */
function truncatedFrom(valid: Record<string, unknown>[]): fc.Arbitrary<Frame> {
  return fc
    .tuple(fc.constantFrom(...valid.map((v) => JSON.stringify(v))), fc.nat())
    .map(([text, cut]) => ({ kind: 'truncated message', text: text.slice(0, cut % (text.length + 1)) }));
}

/**
 * Frames that start like `enroll`, the one message allowed past the 64 KiB bound (up to the
 * image's own 8 MiB), some with an extra field, some past the WebSocket layer's limit.
 */
const bigEnroll = fc
  .tuple(
    fc.constantFrom(70_000, 1_000_000, WS_MAX_PAYLOAD + 100),
    fc.boolean(),
    fc.constantFrom('A', '/', '='),
  )
  .map(([size, extra, fill]): Frame => {
    const head = `{"type":"enroll","source":"image",${extra ? '"x":1,' : ''}"image":"`;
    return { kind: 'big enroll', text: `${head}${fill.repeat(Math.max(4, size - head.length - 2))}"}` };
  });

const clientFrame: fc.Arbitrary<Frame> = fc.oneof(
  {
    weight: 15,
    arbitrary: fc.string({ maxLength: 300, unit: 'binary' }).map((text) => ({ kind: 'string', text })),
  },
  {
    weight: 5,
    arbitrary: fc.string({ maxLength: 100, unit: 'grapheme' }).map((text) => ({ kind: 'string', text })),
  },
  {
    weight: 20,
    arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({ kind: 'JSON value', text: JSON.stringify(v) })),
  },
  { weight: 45, arbitrary: mutatedFrom(VALID, KEYS) },
  { weight: 10, arbitrary: truncatedFrom(VALID) },
  { weight: 5, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: 'bytes', bytes })) },
  { weight: 1, arbitrary: bigEnroll },
);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes the server receives, and what its own parser makes of them. */
function expectation<T>(
  frame: Frame,
  parse: (raw: unknown) => T,
): { bytes: Buffer; parsed: T | 'bad' | 'invalid utf-8' } {
  const bytes = 'bytes' in frame ? Buffer.from(frame.bytes) : Buffer.from(frame.text, 'utf8');
  try {
    utf8.decode(bytes);
  } catch {
    return { bytes, parsed: 'invalid utf-8' };
  }
  try {
    return { bytes, parsed: parse(bytes) };
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return { bytes, parsed: 'bad' };
  }
}

describe('protocol fuzzing through the server (fixed seeds)', () => {
  let server: FuzzServer;
  beforeAll(async () => {
    server = await startFuzzServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it(`answers ${RUNS} fuzzed frames on live sessions as the protocol says`, async () => {
    const outcomes = new Tally();
    const kinds = new Tally();
    let stream = await server.openStream();
    let sessions = 1;
    const reconnect = async (): Promise<void> => {
      await stream.client.close();
      stream = await server.openStream();
      sessions++;
    };
    const isError = (m: ServerMessage): boolean => m.type === 'error';
    /**
     * Sends a message the server always answers (BAD_MESSAGE) and returns the one state that may
     * come before that answer, or null when none did; anything else fails the case.
     */
    const untilMarker = async (client: FuzzSocket): Promise<ServerMessage | null> => {
      client.socket.send(JSON.stringify({ type: 'marker' }));
      const first = await client.take((m) => m.type === 'state' || isError(m));
      if (first.type === 'error') {
        expect(first).toMatchObject({ code: 'BAD_MESSAGE', fatal: false });
        return null;
      }
      expect(await client.take(isError)).toMatchObject({ code: 'BAD_MESSAGE', fatal: false });
      return first;
    };

    await fc.assert(
      fc.asyncProperty(clientFrame, async (frame) => {
        kinds.add(frame.kind);
        // Only after a failed case (fast-check then replays smaller ones): start clean.
        if (!stream.client.open) await reconnect();
        const { client } = stream;
        const { bytes, parsed } = expectation<ClientMessage>(frame, parseClientMessage);
        client.socket.send(bytes, { binary: false });
        if (bytes.length > WS_MAX_PAYLOAD) {
          // RFC 6455 §7.4.1: 1009, the message is too big to process.
          expect(await client.next(() => false)).toBeNull();
          expect(client.closeCode).toBe(1009);
          outcomes.add('socket closed 1009 (over the WebSocket payload limit)');
          return reconnect();
        }
        if (parsed === 'invalid utf-8') {
          // RFC 6455 §8.1: the WebSocket layer fails the connection (1007) before any JSON parsing.
          expect(await client.next(() => false)).toBeNull();
          expect(client.closeCode).toBe(1007);
          outcomes.add('socket closed 1007 (invalid UTF-8)');
          return reconnect();
        }
        const what =
          parsed === 'bad' ? 'bad' : parsed.type === 'enroll' ? `enroll ${parsed.source}` : parsed.type;
        switch (what) {
          case 'bad':
          case 'hello': // a second hello on a live session
          case 'ice': {
            // ice before an offer (each offer below ends its session)
            const m = await client.take(isError);
            expect(m).toMatchObject({ type: 'error', code: 'BAD_MESSAGE', fatal: false });
            outcomes.add(`error BAD_MESSAGE (${what === 'bad' ? 'parser' : what})`);
            return;
          }
          case 'config': {
            // A config is answered with a state only when the state changes (answering a repeat
            // would let a flood amplify): a marker the server always answers ends the reply.
            const m = await untilMarker(client);
            outcomes.add(m === null ? 'no reply (valid config, state unchanged)' : 'state (valid config)');
            return;
          }
          case 'enroll frame':
            // Nothing to say until a frame arrives: the marker behind it must be answered next.
            expect(await untilMarker(client)).toBeNull();
            outcomes.add('no reply (valid enroll from frame)');
            return;
          case 'enroll image': {
            const m = await client.take((m) => m.type === 'error' || m.type === 'enrolled');
            if (m.type === 'error') {
              expect(m.fatal).toBe(false);
              outcomes.add(`error ${m.code} (enroll image)`);
              return;
            }
            // An accepted image: acknowledged, then the state it leaves the stream in.
            expect(m).toEqual({ type: 'enrolled', source: 'image' });
            expect(await client.take((m) => m.type === 'state')).toMatchObject({ state: 'awaiting_media' });
            outcomes.add('enrolled, then state (enroll image)');
            return;
          }
          case 'bye':
            expect(await client.next(() => false)).toBeNull();
            expect(client.closeCode).toBe(1000);
            outcomes.add('socket closed 1000 (valid bye)');
            return reconnect();
          case 'offer': {
            const m = await client.take((m) => m.type === 'answer' || m.type === 'error', {
              skip: (m) => m.type === 'ice' || m.type === 'state',
            });
            outcomes.add(m.type === 'error' ? `error ${m.code} (offer)` : 'answer (offer)');
            // One offer per connection: start a fresh session for the next frames.
            return reconnect();
          }
          default:
            throw new Error(`unexpected valid message ${what}`);
        }
      }),
      fuzzRun(0x5eed_0001, RUNS),
    );
    await stream.client.close();
    kinds.print('Protocol fuzz (stream channel): frames by generator');
    outcomes.print(`Protocol fuzz (stream channel): server replies, over ${sessions} sessions`);
    expect(kinds.total).toBeGreaterThanOrEqual(RUNS);
    await expectStillServing(server);
  }, 300_000);

  it(`answers ${RUNS} fuzzed frames on the operator channel as the protocol says`, async () => {
    const outcomes = new Tally();
    const kinds = new Tally();
    const { sessionId, client: holder } = await server.openStream();
    const open = (): Promise<FuzzSocket<OpsServerMessage>> =>
      FuzzSocket.open(`${server.wsBase}/v1/ops`, (text) => parseOpsServerMessage(text));
    let ops = await open();
    let sockets = 1;
    const background = (m: OpsServerMessage): boolean =>
      m.type === 'ops_snapshot' || m.type === 'ops_session_points';
    const opsValid = [
      { type: 'ops_subscribe', sessionId },
      { type: 'ops_subscribe', sessionId: 'nope' },
      { type: 'ops_unsubscribe' },
    ];
    const opsKeys = ['type', 'sessionId', '__proto__', 'constructor'];
    const opsFrame: fc.Arbitrary<Frame | { kind: string; binary: Uint8Array }> = fc.oneof(
      {
        weight: 15,
        arbitrary: fc.string({ maxLength: 300, unit: 'binary' }).map((text) => ({ kind: 'string', text })),
      },
      {
        weight: 20,
        arbitrary: fc
          .jsonValue({ maxDepth: 4 })
          .map((v) => ({ kind: 'JSON value', text: JSON.stringify(v) })),
      },
      { weight: 45, arbitrary: mutatedFrom(opsValid, opsKeys) },
      { weight: 10, arbitrary: truncatedFrom(opsValid) },
      { weight: 5, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: 'bytes', bytes })) },
      {
        weight: 5,
        arbitrary: fc.uint8Array({ maxLength: 300 }).map((binary) => ({ kind: 'binary frame', binary })),
      },
    );

    await fc.assert(
      fc.asyncProperty(opsFrame, async (frame) => {
        kinds.add(frame.kind);
        if (!ops.open) {
          ops = await open();
          sockets++;
        }
        if ('binary' in frame) {
          ops.socket.send(Buffer.from(frame.binary), { binary: true });
          expect(await ops.take((m) => m.type === 'error', { skip: background })).toMatchObject({
            code: 'BAD_MESSAGE',
          });
          outcomes.add('error BAD_MESSAGE (binary frame)');
          return;
        }
        const { bytes, parsed } = expectation(frame, parseOpsClientMessage);
        ops.socket.send(bytes, { binary: false });
        if (parsed === 'invalid utf-8') {
          expect(await ops.next(() => false, { skip: background })).toBeNull();
          expect(ops.closeCode).toBe(1007);
          outcomes.add('socket closed 1007 (invalid UTF-8)');
          ops = await open();
          sockets++;
          return;
        }
        if (parsed === 'bad') {
          expect(await ops.take((m) => m.type === 'error', { skip: background })).toMatchObject({
            code: 'BAD_MESSAGE',
            fatal: false,
          });
          outcomes.add('error BAD_MESSAGE (parser)');
          return;
        }
        if (parsed.type === 'ops_unsubscribe') {
          // No reply: a subscription to an unknown session behind it must be refused next.
          ops.socket.send(JSON.stringify({ type: 'ops_subscribe', sessionId: 'fuzz-probe' }));
          expect(await ops.take((m) => m.type === 'error', { skip: background })).toMatchObject({
            code: 'NOT_FOUND',
          });
          outcomes.add('no reply (valid unsubscribe)');
          return;
        }
        // A subscribe is answered unless it repeats the one in force (its points keep coming): a
        // probe the server always refuses (NOT_FOUND) ends the reply.
        ops.socket.send(JSON.stringify({ type: 'ops_subscribe', sessionId: 'fuzz-probe' }));
        const isRefusal = (m: OpsServerMessage): boolean => m.type === 'error';
        const first = await ops.take((m) => isRefusal(m) || m.type === 'ops_session_detail', {
          skip: background,
        });
        if (first.type === 'ops_session_detail') {
          outcomes.add('ops_session_detail (valid subscribe)');
          expect(await ops.take(isRefusal, { skip: background })).toMatchObject({ code: 'NOT_FOUND' });
          return;
        }
        expect(first).toMatchObject({ type: 'error', fatal: false });
        if (parsed.sessionId === sessionId) {
          // The held session exists: the only refusal is the probe's, so the subscribe repeated.
          expect(first).toMatchObject({ code: 'NOT_FOUND' });
          outcomes.add('no reply (repeated subscribe)');
          return;
        }
        outcomes.add(`error ${first.type === 'error' ? first.code : ''} (valid subscribe)`);
        expect(await ops.take(isRefusal, { skip: background })).toMatchObject({ code: 'NOT_FOUND' });
      }),
      fuzzRun(0x5eed_0002, RUNS),
    );
    await ops.close();
    await holder.close();
    kinds.print('Protocol fuzz (operator channel): frames by generator');
    outcomes.print(`Protocol fuzz (operator channel): server replies, over ${sockets} sockets`);
    expect(outcomes.total).toBeGreaterThanOrEqual(RUNS);
    await expectStillServing(server);
  }, 300_000);
});
