import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Duplex, Writable } from 'node:stream';
import { FaceVerifier } from '@fv/core';
import { ERROR_CODES, isErrorCode } from '@fv/protocol';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../apps/server/src/app.ts';
import { bodyError } from '../../apps/server/src/body-errors.ts';
import { loadConfig } from '../../apps/server/src/config.ts';
import { newApiKey } from '../../apps/server/src/tenants.ts';
import { MODEL_DIR } from '../support/shared-data.ts';
import { Tally, fuzzRun } from './support/fuzz-server.ts';
import { rawExchange, type RawOutcome } from './support/raw-http.ts';

/**
 * HTTP framing fuzzing: the request body's framing itself, not the images in it. Multipart bodies
 * built byte by byte (parts, headers, boundaries, closings) and then mutated (truncated, bit
 * flipped, spliced), content types, content encodings, JSON nesting and prototype keys, header
 * sizes and Content-Length mismatches, against the upload routes. Every answer must be a success or
 * a coded 4xx whose status is its code's (`ERROR_CODES`), never a 5xx, and nothing may be logged
 * as an unhandled error. Most cases go through `inject`; a subset over a real socket, where a
 * wrong Content-Length, chunked encoding and oversized headers reach Node's HTTP parser.
 */

const INJECT_RUNS = 10_000;
const SOCKET_RUNS = 2000;

const ROUTES = ['/v1/verify', '/v1/demo/verify', '/v1/sessions', '/v1/demo/sessions'] as const;
type Route = (typeof ROUTES)[number];
const BOUNDARY = '----fvframingboundary';

/** A request body and its own headers (content type), with a description for counterexamples. */
interface Payload {
  kind: string;
  headers: Record<string, string>;
  body: Buffer;
}
interface FramingCase extends Payload {
  route: Route;
}

const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

/** `arb` one time in `n`, otherwise null. */
const rarely = <T>(arb: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: n - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });

// ---------------------------------------------------------------------------------------------
// Multipart bodies, built byte by byte

interface PartSpec {
  disposition: string;
  name: string | null;
  filename: string | null;
  contentType: string | null;
  extra: [string, string][];
  /** Line ending inside the part's header block (a bare LF is malformed). */
  eol: string;
  body: Uint8Array;
}

function renderPart(boundary: string, part: PartSpec): Buffer {
  const params = [
    part.disposition,
    part.name !== null && `name="${part.name}"`,
    part.filename !== null && `filename="${part.filename}"`,
  ].filter((p): p is string => typeof p === 'string');
  const lines = [
    `Content-Disposition: ${params.join('; ')}`,
    ...(part.contentType !== null ? [`Content-Type: ${part.contentType}`] : []),
    ...part.extra.map(([k, v]) => `${k}: ${v}`),
  ];
  return Buffer.concat([
    latin1(`--${boundary}\r\n${lines.join(part.eol)}${part.eol}${part.eol}`),
    part.body,
    latin1('\r\n'),
  ]);
}

type Closing = 'proper' | 'no-crlf' | 'missing' | 'epilogue' | 'bare-boundary';

function renderMultipart(
  boundary: string,
  parts: PartSpec[],
  { preamble = '', closing = 'proper' }: { preamble?: string; closing?: Closing } = {},
): Buffer {
  const close = {
    proper: `--${boundary}--\r\n`,
    'no-crlf': `--${boundary}--`,
    missing: '',
    epilogue: `--${boundary}--\r\nepilogue text\r\n--${boundary}\r\n`,
    'bare-boundary': `--${boundary}\r\n`,
  }[closing];
  return Buffer.concat([latin1(preamble), ...parts.map((p) => renderPart(boundary, p)), latin1(close)]);
}

const filePart = (name: string, body: Uint8Array | string = 'not an image'): PartSpec => ({
  disposition: 'form-data',
  name,
  filename: `${name}.jpg`,
  contentType: 'image/jpeg',
  extra: [],
  eol: '\r\n',
  body: typeof body === 'string' ? latin1(body) : body,
});
const fieldPart = (name: string, value: string): PartSpec => ({
  ...filePart(name, value),
  filename: null,
  contentType: null,
});

/** A well-formed two-file upload (not images: every case stays cheap, nothing is decoded). */
const wellFormed = (): Buffer => renderMultipart(BOUNDARY, [filePart('a'), filePart('b')]);
const multipartType = (boundary = BOUNDARY): string => `multipart/form-data; boundary=${boundary}`;

const partArb: fc.Arbitrary<PartSpec> = fc.record({
  disposition: fc.constantFrom(
    'form-data',
    'form-data',
    'form-data',
    'FORM-DATA',
    'attachment',
    'inline',
    '',
  ),
  name: fc.option(
    fc.constantFrom(
      'a',
      'b',
      'reference',
      'ttlSeconds',
      'allowedOrigin',
      'c',
      '',
      '__proto__',
      'constructor',
      'toString',
      'a\r\nX-Injected: 1',
      'x'.repeat(300),
    ),
    { freq: 8 },
  ),
  filename: fc.option(fc.constantFrom('a.jpg', '', '../../etc/passwd', 'C:\\x\\y.png', 'ü.jpg', 'f"q'), {
    freq: 2,
  }),
  contentType: fc.option(
    fc.constantFrom(
      'image/jpeg',
      'image/png',
      'application/octet-stream',
      'application/json',
      'text/plain; charset=utf-8',
      'text/plain; charset=bogus-7',
      'multipart/mixed; boundary=inner',
      '',
    ),
    { freq: 2 },
  ),
  extra: fc.array(
    fc.tuple(
      fc.constantFrom(
        'X-Pad',
        'Content-Transfer-Encoding',
        'Content-Length',
        ' leading',
        ':',
        'Content-Type',
      ),
      fc.oneof(
        { weight: 6, arbitrary: fc.string({ maxLength: 40 }) },
        // Huge headers inside a part: busboy keeps at most 80 KB of a part's header block.
        { weight: 1, arbitrary: fc.integer({ min: 1000, max: 120_000 }).map((n) => 'h'.repeat(n)) },
      ),
    ),
    { maxLength: 3 },
  ),
  eol: fc.constantFrom('\r\n', '\r\n', '\r\n', '\n'),
  body: fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc
      .constantFrom('60', '-1', 'NaN', '1e309', 'https://shop.example', 'http://x/y', '{"a":1}', '{bad', '')
      .map(latin1),
    // Looks like a JPEG (magic bytes), decodes to nothing: refused after a few bytes.
    fc.constant(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0])),
    // A part body that contains its own boundary, or a near miss.
    fc
      .constantFrom(`x\r\n--${BOUNDARY}`, `\r\n--${BOUNDARY}--`, `\r\n--${BOUNDARY.slice(0, 10)}`)
      .map(latin1),
  ),
});

const boundaryArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant(BOUNDARY) },
  { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9'()+_,./:=?-]{1,70}$/) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'X',
      '-',
      '--',
      'a'.repeat(70),
      'a'.repeat(71),
      'b'.repeat(253),
      'c'.repeat(300),
    ),
  },
);

/** How the request's Content-Type names (or misnames) the body's boundary. */
const contentTypeForm = fc.constantFrom(
  'plain',
  'plain',
  'plain',
  'plain',
  'quoted',
  'upper',
  'extra-params',
  'missing-boundary',
  'empty-boundary',
  'other-boundary',
  'duplicate-boundary',
  'long-boundary',
  'multipart-mixed',
  'no-content-type',
  'urlencoded',
  'typo',
);

function multipartContentType(form: string, boundary: string): string | null {
  switch (form) {
    case 'quoted':
      return `multipart/form-data; boundary="${boundary}"`;
    case 'upper':
      return `MULTIPART/FORM-DATA; BOUNDARY=${boundary}`;
    case 'extra-params':
      return `multipart/form-data; charset=utf-8; boundary=${boundary}; x=y`;
    case 'missing-boundary':
      return 'multipart/form-data';
    case 'empty-boundary':
      return 'multipart/form-data; boundary=';
    case 'other-boundary':
      return 'multipart/form-data; boundary=somethingelse';
    case 'duplicate-boundary':
      return `multipart/form-data; boundary=other; boundary=${boundary}`;
    case 'long-boundary':
      return `multipart/form-data; boundary=${boundary}${'x'.repeat(300)}`;
    case 'multipart-mixed':
      return `multipart/mixed; boundary=${boundary}`;
    case 'no-content-type':
      return null;
    case 'urlencoded':
      return 'application/x-www-form-urlencoded';
    case 'typo':
      return `multipart/form-dat; boundary=${boundary}`;
    default:
      return multipartType(boundary);
  }
}

/** A byte-level mutation, named so a counterexample says what was done. */
interface Mutation {
  name: string;
  apply: (bytes: Buffer) => Buffer;
}
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.double({ min: 0, max: 1, noNaN: true }).map((f) => ({
    name: `truncate@${f.toFixed(3)}`,
    apply: (b: Buffer) => b.subarray(0, Math.floor(b.length * f)),
  })),
  fc.tuple(fc.nat(), fc.nat(7)).map(([p, bit]) => ({
    name: `flip@${p}.${bit}`,
    apply: (b: Buffer) => {
      const out = Buffer.from(b);
      if (out.length) out[p % out.length]! ^= 1 << bit;
      return out;
    },
  })),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([p, bytes]) => ({
    name: `insert@${p}:${Buffer.from(bytes).toString('hex')}`,
    apply: (b: Buffer) => {
      const at = b.length ? p % (b.length + 1) : 0;
      return Buffer.concat([b.subarray(0, at), bytes, b.subarray(at)]);
    },
  })),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 64 })).map(([p, n]) => ({
    name: `delete@${p}+${n}`,
    apply: (b: Buffer) => {
      const at = b.length ? p % b.length : 0;
      return Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
    },
  })),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 200 })).map(([p, n]) => ({
    name: `duplicate@${p}+${n}`,
    apply: (b: Buffer) => {
      const at = b.length ? p % b.length : 0;
      return Buffer.concat([b.subarray(0, at + n), b.subarray(at)]);
    },
  })),
  fc.constant({
    name: 'crlf→lf',
    apply: (b: Buffer) => latin1(b.toString('latin1').replaceAll('\r\n', '\n')),
  }),
);

const multipartCase = fc
  .record({
    boundary: boundaryArb,
    parts: fc.array(partArb, { maxLength: 8 }),
    preamble: fc.constantFrom('', '', '', 'preamble\r\n', '\r\n', '--'),
    closing: fc.constantFrom<Closing>(
      'proper',
      'proper',
      'proper',
      'no-crlf',
      'missing',
      'epilogue',
      'bare-boundary',
    ),
    form: contentTypeForm,
    mutations: fc.oneof(
      { weight: 2, arbitrary: fc.constant<Mutation[]>([]) },
      { weight: 3, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) },
    ),
  })
  .map(({ boundary, parts, preamble, closing, form, mutations }): Payload => {
    let body: Buffer = renderMultipart(boundary, parts, { preamble, closing });
    for (const m of mutations) body = m.apply(body);
    const type = multipartContentType(form, boundary);
    const names = parts.map((p) => `${p.name}${p.filename === null ? '' : '[file]'}`).join(',');
    return {
      kind: `multipart ${form} parts=[${names}] closing=${closing} ${mutations.map((m) => m.name).join(' ')}`,
      headers: type === null ? {} : { 'content-type': type },
      body,
    };
  });

// ---------------------------------------------------------------------------------------------
// JSON bodies

const base64 = fc.uint8Array({ maxLength: 48 }).map((u) => Buffer.from(u).toString('base64'));
const imageValue = fc.oneof(
  base64,
  base64.map((s) => `data:image/jpeg;base64,${s}`),
  fc.constantFrom('!!!!', '', 'AAAA', '====', 'A'),
  fc.jsonValue({ maxDepth: 2 }),
);
const PROTO_BODIES = [
  '{"__proto__":{"polluted":1},"a":"QUFB","b":"QUFB"}',
  '{"a":"QUFB","b":"QUFB","constructor":{"prototype":{"polluted":1}}}',
  '{"a":{"__proto__":{"polluted":1}},"b":"QUFB"}',
  '[{"__proto__":{"polluted":1}}]',
  '{"a":"QUFB","b":"QUFB","__proto__":null}',
];

function nested(depth: number, shape: string): string {
  if (shape === 'array') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
  if (shape === 'object') return `${'{"x":'.repeat(depth)}1${'}'.repeat(depth)}`;
  return `{"a":${'['.repeat(depth)}"QUFB"${']'.repeat(depth)},"b":"QUFB"}`;
}

const jsonText = fc.oneof(
  fc.record({ a: imageValue, b: imageValue }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc
    .tuple(fc.integer({ min: 1, max: 5000 }), fc.constantFrom('array', 'object', 'in-a'))
    .map(([d, s]) => nested(d, s)),
  fc.constantFrom(...PROTO_BODIES),
  fc.string({ maxLength: 60 }),
  fc.constant(''),
);
const jsonType = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON',
  'application/json; charset=utf-16le',
  'application/vnd.api+json',
  'text/json',
  'application/json, text/plain',
  'application/jsonx',
);
const jsonCase = fc
  .record({
    text: jsonText,
    type: jsonType,
    mutations: fc.oneof(
      { weight: 3, arbitrary: fc.constant<Mutation[]>([]) },
      { weight: 1, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 2 }) },
    ),
  })
  .map(({ text, type, mutations }): Payload => {
    let body: Buffer = Buffer.from(text);
    for (const m of mutations) body = m.apply(body);
    return {
      kind: `json ${type} ${text.length} chars ${mutations.map((m) => m.name).join(' ')}`,
      headers: { 'content-type': type },
      body,
    };
  });

// ---------------------------------------------------------------------------------------------
// Anything else: random bytes under any content type, or none

const otherType = fc.option(
  fc.oneof(
    fc.constantFrom(
      'text/plain',
      'application/octet-stream',
      'image/jpeg',
      'application/x-www-form-urlencoded',
      'multipart/form-data',
      multipartType(),
      'application/json',
      '*/*',
      ';',
      'multipart/',
      '/',
      'x'.repeat(2000),
    ),
    fc.string({ maxLength: 80 }),
  ),
  { freq: 4 },
);
const randomCase = fc
  .record({
    body: fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.constant(new Uint8Array(0))),
    type: otherType,
  })
  .map(({ body, type }): Payload => ({
    kind: `random ${type === null ? 'no type' : JSON.stringify(type.slice(0, 60))}`,
    headers: type === null ? {} : { 'content-type': type },
    body: Buffer.from(body),
  }));

// ---------------------------------------------------------------------------------------------
// The request around the body: route, credentials, encoding, header sizes, Content-Length

const framingCase = (apiKey: string): fc.Arbitrary<FramingCase> =>
  fc
    .record({
      route: fc.constantFrom(...ROUTES),
      payload: fc.oneof(
        { weight: 6, arbitrary: multipartCase },
        { weight: 2, arbitrary: jsonCase },
        { weight: 2, arbitrary: randomCase },
      ),
      auth: fc.constantFrom('key', 'key', 'key', 'key', 'key', 'key', 'key', 'key', 'none', 'garbage'),
      encoding: rarely(
        fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'IDENTITY', 'x-unknown', 'gzip, identity', ''),
        8,
      ),
      origin: rarely(fc.constantFrom('https://evil.example', 'null'), 30),
      pad: rarely(fc.integer({ min: 1, max: 24_000 }), 10),
      length: rarely(
        fc.integer({ min: -5, max: 5 }).filter((d) => d !== 0),
        12,
      ),
    })
    .map(({ route, payload, auth, encoding, origin, pad, length }) => {
      const headers: Record<string, string> = { ...payload.headers };
      if (!route.includes('/demo/') && auth !== 'none')
        headers['authorization'] = auth === 'key' ? `Bearer ${apiKey}` : 'Bearer nope';
      if (encoding !== null) headers['content-encoding'] = encoding;
      if (origin !== null) headers['origin'] = origin;
      if (pad !== null) headers['x-pad'] = 'p'.repeat(pad);
      if (length !== null) headers['content-length'] = String(Math.max(0, payload.body.length + length));
      const extras = [
        encoding !== null && `encoding=${encoding}`,
        pad !== null && `pad=${pad}`,
        length !== null && `length${length > 0 ? '+' : ''}${length}`,
        auth !== 'key' && `auth=${auth}`,
        origin !== null && `origin=${origin}`,
      ].filter(Boolean);
      return { kind: [payload.kind, ...extras].join(' '), route, headers, body: payload.body };
    });

// ---------------------------------------------------------------------------------------------
// The same requests as raw bytes on a socket, with framing only a real connection shows

type Wire = 'exact' | 'short-cl' | 'long-cl' | 'chunked' | 'bad-chunk' | 'cl+te' | 'dup-cl' | 'garbage-cl';

function rawRequest(c: FramingCase, wire: Wire, huge: number | null): Buffer {
  const headers = Object.entries(c.headers).filter(([k]) => k !== 'content-length');
  const n = c.body.length;
  const lengthHeaders: Record<Wire, string[]> = {
    exact: [`Content-Length: ${n}`],
    'short-cl': [`Content-Length: ${n + 1 + (n % 97)}`],
    'long-cl': [`Content-Length: ${Math.max(0, n - 1 - (n % 13))}`],
    chunked: ['Transfer-Encoding: chunked'],
    'bad-chunk': ['Transfer-Encoding: chunked'],
    'cl+te': [`Content-Length: ${n}`, 'Transfer-Encoding: chunked'],
    'dup-cl': [`Content-Length: ${n}`, `Content-Length: ${n + 7}`],
    'garbage-cl': ['Content-Length: 12abc'],
  };
  let body = c.body;
  if (wire === 'chunked' || wire === 'cl+te') {
    const half = Math.floor(n / 2);
    const chunks = [c.body.subarray(0, half), c.body.subarray(half)].filter((b) => b.length > 0);
    body = Buffer.concat([
      ...chunks.flatMap((b) => [latin1(`${b.length.toString(16)}\r\n`), b, latin1('\r\n')]),
      latin1('0\r\n\r\n'),
    ]);
  } else if (wire === 'bad-chunk') {
    body = Buffer.concat([latin1(`zz${n.toString(16)}\r\n`), c.body, latin1('\r\n')]);
  }
  const head = [
    `POST ${c.route} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Connection: close',
    ...headers.map(([k, v]) => `${k}: ${v}`),
    ...(huge !== null ? [`X-Huge: ${'h'.repeat(huge)}`] : []),
    ...lengthHeaders[wire],
  ];
  return Buffer.concat([latin1(`${head.join('\r\n')}\r\n\r\n`), body]);
}

/** Splits `bytes` at the given fractions (so parsers see boundaries and headers split across reads). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const to of at) {
    if (to > from) out.push(bytes.subarray(from, to));
    from = Math.max(from, to);
  }
  out.push(bytes.subarray(from));
  return out.filter((b) => b.length > 0);
}

// ---------------------------------------------------------------------------------------------

/**
 * The answer must be a success or a coded 4xx with the protocol's body, its status the code's;
 * returns a tally key (`400 BAD_REQUEST`).
 */
function expectCodedAnswer(status: number, body: string, where: string): string {
  expect(status, `${where}: ${body.slice(0, 300)}`).toBeLessThan(500);
  if (status < 400) return String(status);
  let code: unknown;
  try {
    code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
  } catch {
    throw new Error(`${where}: a ${status} whose body is not JSON: ${body.slice(0, 300)}`);
  }
  expect(isErrorCode(code), `${where}: ${status} without a known code: ${body.slice(0, 300)}`).toBe(true);
  expect(status, `${where}: ${body.slice(0, 300)}`).toBe(ERROR_CODES[code as keyof typeof ERROR_CODES].http);
  return `${status} ${String(code)}`;
}

describe('HTTP framing: broken uploads are bad input, not server errors', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'fv-framing-'));
  const { key, sha256 } = newApiKey();
  /** Server-side failures seen in the log: errors (unhandled) and 5xx responses, as lines. */
  const failures: string[] = [];
  let verifier: FaceVerifier;
  let app: FastifyInstance;
  let port: number;

  const send = async (c: Omit<FramingCase, 'kind'>): Promise<{ status: number; body: string }> => {
    const res = await app.inject({ method: 'POST', url: c.route, headers: c.headers, payload: c.body });
    return { status: res.statusCode, body: res.body };
  };
  const withKey = (route: Route, headers: Record<string, string>): Record<string, string> =>
    route.includes('/demo/') ? headers : { ...headers, authorization: `Bearer ${key}` };
  const codeOf = (body: string): unknown => (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
  /**
   * Unhandled errors (`request.log.error`) and 5xx responses the server logged since the last
   * call: also those whose answer never reached the client (it had closed, or the server closed
   * first on a refused upload).
   */
  const takeErrorLogs = (): string[] => failures.splice(0);
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        const entry = JSON.parse(line) as {
          level: number;
          msg?: string;
          err?: { message?: string };
          res?: { statusCode?: number };
        };
        const status = entry.res?.statusCode ?? 0;
        if (entry.level >= 50 || status >= 500) {
          failures.push(`${entry.msg} ${status || ''}: ${entry.err?.message ?? ''}`);
        }
      }
      done();
    },
  });

  beforeAll(async () => {
    // Keyed mode with a demo tenant: tenants' routes take an API key, the demo routes none.
    writeFileSync(
      path.join(dir, 'tenants.json'),
      JSON.stringify({
        tenants: [{ id: 'acme', name: 'Acme', keySha256: [sha256], maxConcurrentSessions: 20 }],
      }),
    );
    verifier = await FaceVerifier.create({ modelDir: MODEL_DIR, embedder: { intraOpThreads: 1 } });
    app = await buildApp({
      config: loadConfig({
        TENANTS_FILE: path.join(dir, 'tenants.json'),
        DEMO_TENANT: 'acme',
        DETECT_WORKERS: '0',
        MAX_IMAGE_BYTES: String(64 * 1024),
        // Thousands of requests from one address: the rate limits are not under test here.
        RATE_LIMIT_PER_MINUTE: '100000000',
        KEY_RATE_LIMIT_PER_MINUTE: '100000000',
      }),
      verifier,
      // Info: every response's status is logged ("request completed"), also one the client missed.
      logger: { level: 'info', stream: logStream },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await app?.close();
    await verifier?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('the reported cases, on each upload route', () => {
    const UPLOAD_ROUTES = ['/v1/verify', '/v1/demo/verify', '/v1/sessions'] as const;
    const cases: [string, () => { headers: Record<string, string>; body: Buffer }, number, string][] = [
      [
        'a truncated multipart body',
        () => ({ headers: { 'content-type': multipartType() }, body: wellFormed().subarray(0, 90) }),
        400,
        'BAD_REQUEST',
      ],
      [
        'a multipart body cut inside a part header',
        () => ({ headers: { 'content-type': multipartType() }, body: wellFormed().subarray(0, 40) }),
        400,
        'BAD_REQUEST',
      ],
      [
        'random bytes as multipart',
        () => ({
          headers: { 'content-type': multipartType() },
          body: Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7919 + 13) % 256)),
        }),
        400,
        'BAD_REQUEST',
      ],
      [
        'multipart without a boundary',
        () => ({ headers: { 'content-type': 'multipart/form-data' }, body: wellFormed() }),
        400,
        'BAD_REQUEST',
      ],
      [
        'multipart with an empty boundary',
        () => ({ headers: { 'content-type': 'multipart/form-data; boundary=' }, body: wellFormed() }),
        400,
        'BAD_REQUEST',
      ],
      [
        'a boundary the body does not use',
        () => ({ headers: { 'content-type': multipartType('other') }, body: wellFormed() }),
        400,
        'BAD_REQUEST',
      ],
      [
        'a 300-character boundary',
        () => {
          const b = 'b'.repeat(300);
          return {
            headers: { 'content-type': multipartType(b) },
            body: renderMultipart(b, [filePart('a'), filePart('b')]),
          };
        },
        400,
        'BAD_REQUEST',
      ],
      [
        'a body without a content type',
        () => ({ headers: {}, body: Buffer.from('hello') }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'a text/plain body',
        () => ({ headers: { 'content-type': 'text/plain' }, body: Buffer.from('hello') }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'a gzip-encoded upload',
        () => ({
          headers: { 'content-type': multipartType(), 'content-encoding': 'gzip' },
          body: wellFormed(),
        }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'too many files',
        () => ({
          headers: { 'content-type': multipartType() },
          body: renderMultipart(
            BOUNDARY,
            Array.from({ length: 7 }, () => filePart('reference')),
          ),
        }),
        400,
        'BAD_REQUEST',
      ],
      [
        'a prototype key as a part name',
        () => ({
          headers: { 'content-type': multipartType() },
          body: renderMultipart(BOUNDARY, [filePart('__proto__')]),
        }),
        400,
        'BAD_REQUEST',
      ],
    ];

    for (const route of UPLOAD_ROUTES) {
      it.each(cases.map(([label, make, status, code]) => [label, status, code, make] as const))(
        `${route}: %s → %i %s`,
        async (_label, status, code, make) => {
          const { headers, body } = make();
          const res = await send({ route, headers: withKey(route, headers), body });
          expect(res.status, res.body).toBe(status);
          expect(codeOf(res.body)).toBe(code);
          expect(takeErrorLogs()).toEqual([]);
        },
      );
    }

    it('maps parser errors by identity only: look-alikes and internal failures stay internal', () => {
      // The plugin's own error classes (decorated on the app), as the routes meet them.
      const errors = (app as unknown as { multipartErrors: Record<string, new () => Error> }).multipartErrors;
      for (const name of ['PartsLimitError', 'FilesLimitError', 'FieldsLimitError', 'PrematureCloseError']) {
        expect(bodyError(new errors[name]!())?.code, name).toBe('BAD_REQUEST');
      }
      expect(bodyError(new errors['RequestFileTooLargeError']!())?.code).toBe('IMAGE_TOO_LARGE');
      expect(bodyError(new errors['FileBufferNotFoundError']!()), 'a 500 of the plugin').toBeNull();
      expect(bodyError(new Error('Unexpected end of multipart data'))?.code).toBe('BAD_REQUEST');
      expect(
        bodyError(new Error('Multipart: Boundary not found'), { hint: 'Send a and b.' })?.message,
      ).toMatch(/boundary.*Send a and b\.$/);
      class Elsewhere extends Error {}
      expect(bodyError(new Elsewhere('Unexpected end of multipart data')), 'another class').toBeNull();
      expect(bodyError(new TypeError('Unexpected end of multipart data')), 'another class').toBeNull();
      const withCode = Object.assign(new Error('Unexpected end of multipart data'), { code: 'EIO' });
      expect(bodyError(withCode), 'a coded error').toBeNull();
      expect(
        bodyError(new TypeError('Limit fileSize is not a valid number')),
        'a configuration bug',
      ).toBeNull();
      expect(
        bodyError(Object.assign(new Error('x'), { code: 'FST_PARTS_LIMIT' })),
        'not a FastifyError',
      ).toBeNull();
      const reset = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
      expect(bodyError(reset), 'a reset that is not the request stream’s').toBeNull();
      expect(bodyError(new Error('boom'))).toBeNull();
      expect(bodyError('Unexpected end of multipart data')).toBeNull();
    });

    it('a field where a file is expected → 400 BAD_REQUEST', async () => {
      for (const [route, name] of [
        ['/v1/verify', 'a'],
        ['/v1/demo/verify', 'b'],
        ['/v1/sessions', 'reference'],
      ] as const) {
        const body = renderMultipart(BOUNDARY, [fieldPart(name, 'not a file')]);
        const res = await send({ route, headers: withKey(route, { 'content-type': multipartType() }), body });
        expect(res.status, `${route} ${res.body}`).toBe(400);
        expect(codeOf(res.body)).toBe('BAD_REQUEST');
      }
    });

    it('JSON: invalid, empty, deeply nested, prototype keys → 400; JSON where only multipart goes → 415', async () => {
      const json = (text: string, route: Route = '/v1/verify') =>
        send({
          route,
          headers: withKey(route, { 'content-type': 'application/json' }),
          body: Buffer.from(text),
        });
      for (const text of ['{', '{"a":"QUFB",}', '', 'nul', '\u0000']) {
        const res = await json(text);
        expect([res.status, codeOf(res.body)], text).toEqual([400, 'BAD_REQUEST']);
      }
      for (const text of [nested(50_000, 'array'), nested(20_000, 'object'), nested(40_000, 'in-a')]) {
        const res = await json(text);
        expect(res.status, res.body).toBe(400);
        expect(['BAD_REQUEST', 'MISSING_IMAGE']).toContain(codeOf(res.body));
      }
      for (const text of PROTO_BODIES) {
        const res = await json(text);
        expect(res.status, `${text}: ${res.body}`).toBe(400);
        expect(isErrorCode(codeOf(res.body))).toBe(true);
      }
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      for (const route of ['/v1/sessions', '/v1/demo/sessions'] as const) {
        const res = await json('{"reference":"QUFB"}', route);
        expect([res.status, codeOf(res.body)]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
      }
      expect(takeErrorLogs()).toEqual([]);
    });

    it('an empty multipart body is an empty form: no images (verify), a session without reference', async () => {
      for (const route of ['/v1/verify', '/v1/demo/verify'] as const) {
        const res = await send({
          route,
          headers: withKey(route, { 'content-type': multipartType() }),
          body: Buffer.alloc(0),
        });
        expect([res.status, codeOf(res.body)]).toEqual([400, 'MISSING_IMAGE']);
      }
      const res = await send({
        route: '/v1/sessions',
        headers: withKey('/v1/sessions', { 'content-type': multipartType() }),
        body: Buffer.alloc(0),
      });
      expect(res.status, res.body).toBe(201);
    });

    it('answers what Node’s HTTP parser refuses once, with the protocol body (timeout, reset, mid-response)', () => {
      /** A socket that keeps what the server writes to it. */
      const fakeSocket = (): { socket: Duplex; written: () => string } => {
        const chunks: Buffer[] = [];
        const socket = new Duplex({
          read() {},
          write(chunk: Buffer, _encoding, done) {
            chunks.push(chunk);
            done();
          },
        });
        socket.on('error', () => {});
        return { socket, written: () => Buffer.concat(chunks).toString() };
      };
      const clientError = (code: string, socket: Duplex): void => {
        app.server.emit('clientError', Object.assign(new Error(code), { code }), socket);
      };
      // A slow client (headersTimeout): 408, and only ours (Fastify's listener sees it destroyed).
      const slow = fakeSocket();
      clientError('ERR_HTTP_REQUEST_TIMEOUT', slow.socket);
      expect(slow.written()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(slow.written().match(/HTTP\/1\.1/g)).toHaveLength(1);
      expect(codeOf(slow.written().split('\r\n\r\n')[1]!)).toBe('REQUEST_TIMEOUT');
      expect(slow.socket.destroyed).toBe(true);
      // A reset connection: nothing to answer.
      const reset = fakeSocket();
      clientError('ECONNRESET', reset.socket);
      expect(reset.written()).toBe('');
      // A response already under way on the socket: no second status line on top of it.
      const underway = fakeSocket();
      Object.assign(underway.socket, { _httpMessage: { headersSent: true } });
      clientError('HPE_INVALID_CHUNK_SIZE', underway.socket);
      expect(underway.written()).toBe('');
      expect(underway.socket.destroyed).toBe(true);
    });

    it('over a socket: short Content-Length, CL with chunked, bad chunks, huge headers → coded 4xx', async () => {
      const c: FramingCase = {
        kind: 'well-formed',
        route: '/v1/verify',
        headers: withKey('/v1/verify', { 'content-type': multipartType() }),
        body: wellFormed(),
      };
      const expected: [Wire, number | null, number, string][] = [
        ['short-cl', null, 400, 'BAD_REQUEST'],
        ['cl+te', null, 400, 'BAD_REQUEST'],
        ['bad-chunk', null, 400, 'BAD_REQUEST'],
        ['dup-cl', null, 400, 'BAD_REQUEST'],
        ['garbage-cl', null, 400, 'BAD_REQUEST'],
        ['exact', 20_000, 431, 'HEADERS_TOO_LARGE'],
        // A truncated multipart body with a correct Content-Length (a proxy that cut it).
        ['exact', null, 415, 'UNSUPPORTED_IMAGE'],
      ];
      for (const [wire, huge, status, code] of expected) {
        const outcome = await rawExchange(port, [rawRequest(c, wire, huge)]);
        expect(outcome.response, `${wire}: ${JSON.stringify(outcome)}`).not.toBeNull();
        const { response } = outcome as Extract<RawOutcome, { response: object }>;
        expect([response.status, codeOf(response.body)], `${wire}: ${response.body}`).toEqual([status, code]);
      }
      const truncated = { ...c, body: wellFormed().subarray(0, 90) };
      const outcome = await rawExchange(port, [rawRequest(truncated, 'exact', null)]);
      expect(outcome.response && [outcome.response.status, codeOf(outcome.response.body)]).toEqual([
        400,
        'BAD_REQUEST',
      ]);
      expect(takeErrorLogs()).toEqual([]);
    });
  });

  it(`answers ${INJECT_RUNS} fuzzed request framings (inject) with a success or a coded 4xx`, async () => {
    const tally = new Tally();
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(framingCase(key), async (c) => {
        const res = await send(c);
        const where = `${c.route} ${c.kind}`;
        tally.add(
          `${c.route.includes('sessions') ? 'sessions' : 'verify'} ${c.kind.split(' ', 1)[0]} ${expectCodedAnswer(res.status, res.body, where)}`,
        );
        const errors = takeErrorLogs();
        expect(errors, `${where}: logged as unhandled`).toEqual([]);
      }),
      fuzzRun(0x6672616d, INJECT_RUNS),
    );
    tally.print(`framing fuzz (inject, ${((performance.now() - started) / 1000).toFixed(1)} s)`);
    expect(tally.total).toBe(INJECT_RUNS);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
  });

  it(`answers ${SOCKET_RUNS} fuzzed requests on a real socket with a coded 4xx (or a success)`, async () => {
    const tally = new Tally();
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(
        framingCase(key),
        fc.constantFrom<Wire>(
          'exact',
          'exact',
          'exact',
          'short-cl',
          'long-cl',
          'chunked',
          'bad-chunk',
          'cl+te',
          'dup-cl',
          'garbage-cl',
        ),
        rarely(fc.integer({ min: 15_000, max: 40_000 }), 10),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
        async (c, wire, huge, cuts) => {
          const where = `${c.route} ${wire}${huge === null ? '' : ` huge=${huge}`} ${c.kind}`;
          const outcome = await rawExchange(port, split(rawRequest(c, wire, huge), cuts));
          // Every request gets an answer. The server may refuse an upload from its headers and close
          // before reading the rest; the client can then lose that answer to the TCP reset, so a
          // close without an answer passes only before the request was fully written (the status
          // the server logged is still checked below).
          if (outcome.response === null) {
            expect(outcome.early, `${where}: closed without an answer (${outcome.closedWith})`).toBe(true);
            tally.add(`${wire} answered early, closed (${outcome.closedWith})`);
          } else {
            const { response } = outcome;
            tally.add(`${wire} ${expectCodedAnswer(response.status, response.body, where)}`);
          }
          expect(takeErrorLogs(), `${where}: logged as unhandled or 5xx`).toEqual([]);
        },
      ),
      // No shrinking: a failing socket case can wait out the hang timeout on every attempt.
      { ...fuzzRun(0x736f636b, SOCKET_RUNS), endOnFailure: true },
    );
    tally.print(`framing fuzz (socket, ${((performance.now() - started) / 1000).toFixed(1)} s)`);
    expect(tally.total).toBe(SOCKET_RUNS);
    // Still serving.
    expect((await app.inject('/healthz')).statusCode).toBe(200);
  });
});
