import swagger from '@fastify/swagger';
import { ErrorBodySchema, PROTOCOL_VERSION, SessionFinishedEventSchema, WEBHOOK_HEADERS } from '@fv/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { DEFAULT_WEBHOOK_OPTIONS } from './webhook.ts';

declare module 'fastify' {
  interface FastifySchema {
    /**
     * Documentation only: the request body as the API reference shows it, for routes whose body
     * Fastify must not validate — multipart uploads, which @fastify/multipart reads in the handler
     * (a `body` schema would make Fastify check the parsed body and refuse every upload).
     * {@link registerOpenApi}'s transform turns it into the document's `requestBody`.
     */
    documentedBody?: { content: Record<string, { schema: unknown }> };
  }
}

/**
 * The API reference, generated from the route schemas: `/openapi.json` (OpenAPI 3.1), its UI at
 * `/docs`, and `/asyncapi.json` (the WebSocket protocol, from the protocol package's schemas).
 * Every route carries its documentation (summary, tags, responses) in its `schema` (app.ts's
 * routes take theirs from here); openapi.test.ts fails for a route without it. The WebSocket
 * routes are described here ({@link WEBSOCKET_DOCS}). Hidden, by their plugins: the UI's own
 * routes under `/docs` and the web build's hashed `/assets/*` (static files, not API).
 */

/** `schema.security` values. In open mode no credential is checked (the document says so). */
export const SECURITY = {
  apiKey: [{ apiKey: [] }],
  operator: [{ operatorSession: [] }],
  metrics: [{ metricsToken: [] }],
} as const;

/** Error responses, as every route answers them (`{error: {code, message}}`). */
export const ERROR_RESPONSES = { '4xx': ErrorBodySchema, '5xx': ErrorBodySchema } as const;

const TAGS = [
  { name: 'verify', description: 'Two-image verification.' },
  {
    name: 'sessions',
    description:
      'Live sessions, REST side: create one, read its result. The stream itself: `/asyncapi.json`.',
  },
  {
    name: 'demo',
    description: 'The demo page’s routes: same-origin requests from this server’s own pages only.',
  },
  { name: 'ops', description: 'The operator dashboard: sign-in and the live feed.' },
  { name: 'web', description: 'The web app’s pages.' },
  { name: 'operations', description: 'Health, readiness and metrics, for orchestrators and Prometheus.' },
  { name: 'docs', description: 'This reference.' },
];

/** The WebSocket routes (in routes/stream.ts and routes/ops.ts), by URL. */
const WEBSOCKET_DOCS: Record<string, FastifySchema> = {
  '/v1/sessions/:id/stream': {
    summary: 'Live stream of a session (WebSocket)',
    description:
      'Upgrades to a WebSocket; the first message is `hello` with the session’s single-use token (no API key: browsers connect here). Messages: see the [AsyncAPI document](/asyncapi.json), channel `stream`.',
    tags: ['sessions'],
    response: {
      101: { description: 'Switching Protocols: the socket speaks the live protocol.', type: 'null' },
      ...ERROR_RESPONSES,
    },
  },
  '/v1/ops': {
    summary: 'Operator feed (WebSocket)',
    description:
      'Upgrades to a WebSocket for a signed-in operator. Messages: see the [AsyncAPI document](/asyncapi.json), channel `ops`.',
    tags: ['ops'],
    security: SECURITY.operator,
    response: {
      101: { description: 'Switching Protocols: the socket speaks the operator protocol.', type: 'null' },
      ...ERROR_RESPONSES,
    },
  },
};

/**
 * The webhooks a tenant's endpoint receives (OpenAPI 3.1 `webhooks`): the payload is the protocol
 * package's schema, the one its reference receiver parses with.
 */
const WEBHOOKS = {
  'session.finished': {
    post: {
      summary: 'A session finished',
      description: [
        'Sent to the tenant’s webhook URL (TENANTS_FILE) when one of its sessions ends: the server’s own result, never the browser’s.',
        `Verify \`${WEBHOOK_HEADERS.signature}\` (\`v1=\` and the hex HMAC-SHA256, with the webhook secret, of \`<${WEBHOOK_HEADERS.timestamp}>.<raw body>\`) in constant time and refuse stale timestamps before parsing the body;`,
        'delivery is at least once (de-duplicate on `id`), and any answer but 2xx is retried with backoff.',
      ].join(' '),
      tags: ['sessions'],
      parameters: [
        { name: WEBHOOK_HEADERS.event, in: 'header' as const, required: true, schema: Type.String() },
        { name: WEBHOOK_HEADERS.delivery, in: 'header' as const, required: true, schema: Type.String() },
        {
          name: WEBHOOK_HEADERS.timestamp,
          in: 'header' as const,
          required: true,
          description: 'Unix seconds of this attempt.',
          schema: Type.String({ pattern: '^[0-9]+$' }),
        },
        {
          name: WEBHOOK_HEADERS.signature,
          in: 'header' as const,
          required: true,
          schema: Type.String({ pattern: '^v1=[0-9a-f]{64}$' }),
        },
      ],
      requestBody: {
        required: true,
        // Its JSON form (TypeBox's symbol keys are not part of it).
        content: { 'application/json': { schema: JSON.parse(JSON.stringify(SessionFinishedEventSchema)) } },
      },
      responses: {
        '2XX': { description: 'Delivered.' },
        default: {
          description: `Not delivered: retried with exponential backoff, ${DEFAULT_WEBHOOK_OPTIONS.maxAttempts} attempts in all.`,
        },
      },
    },
  },
};

const noContent = (description: string) => ({ description, type: 'null' }) as const;
const html = (description: string) => ({
  description,
  content: { 'text/html': { schema: { type: 'string' } } },
});

/** `/healthz`: the process is up. */
export const healthzSchema: FastifySchema = {
  summary: 'Liveness',
  tags: ['operations'],
  response: { 200: Type.Object({ status: Type.Literal('ok') }, { description: 'The process is up.' }) },
};

const ReadySchema = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('recycle')]),
    mode: Type.Optional(Type.String({ description: '`embedded` or `distributed (<role>)`.' })),
    model: Type.Optional(Type.String()),
    threshold: Type.Optional(Type.Number()),
    protocol: Type.Optional(Type.Integer()),
    auth: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('api-keys')])),
    retainedPeers: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { description: 'Open mode: all fields. With TENANTS_FILE: `status` only.' },
);
/** `/readyz`: ready for sessions, or due for recycling. */
export const readyzSchema: FastifySchema = {
  summary: 'Readiness',
  description:
    'Ready for new sessions (200), or keeping too many closed WebRTC peers and due to be drained and replaced (503, `recycle`). With TENANTS_FILE only the status is given.',
  tags: ['operations'],
  response: { 200: ReadySchema, 503: ReadySchema },
};

/** `/metrics` on the main listener. */
export const metricsSchema: FastifySchema = {
  summary: 'Prometheus metrics',
  description:
    'The Prometheus text format. Public in open mode without METRICS_TOKEN_SHA256; otherwise with `Authorization: Bearer <metrics token>`. With METRICS_PORT it is served on that internal listener instead, and not here.',
  tags: ['operations'],
  security: SECURITY.metrics,
  response: {
    200: { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
    ...ERROR_RESPONSES,
  },
};

/** `GET /v1/ops/session`: is this browser signed in as an operator? */
export const opsSessionSchema: FastifySchema = {
  summary: 'Operator sign-in check',
  tags: ['ops'],
  security: SECURITY.operator,
  response: { 204: noContent('Signed in (or no sign-in needed: open mode).'), ...ERROR_RESPONSES },
};

/** `POST /v1/ops/login` (its body schema stays on the route). */
export const opsLoginDocs: FastifySchema = {
  summary: 'Operator sign-in',
  description:
    'A correct operator token sets the `fv_ops` session cookie (HttpOnly, SameSite=Strict). 10 tries a minute.',
  tags: ['ops'],
  response: { 204: noContent('Signed in: the cookie is set.'), ...ERROR_RESPONSES },
};

/** The web app's pages (routes/web.ts). */
export const pageSchema = (summary: string, extra: FastifySchema = {}): FastifySchema => ({
  summary,
  tags: ['web'],
  ...extra,
  response: { 200: html('The page'), ...ERROR_RESPONSES },
});

/** A response schema without a description gets one (else the UI shows "Default Response"). */
function describeResponses(response: FastifySchema['response']): FastifySchema['response'] {
  if (typeof response !== 'object' || response === null) return response;
  const described: Record<string, unknown> = {};
  for (const [status, schema] of Object.entries(response as Record<string, Record<string, unknown>>)) {
    const description =
      status === '4xx'
        ? 'Refused: `{"error": {"code", "message"}}` with a client error code.'
        : status === '5xx'
          ? 'Failed: `{"error": {"code", "message"}}` with a server error code.'
          : (STATUS_CODES[status] ?? status);
    described[status] = schema.description === undefined ? { ...schema, description } : schema;
  }
  return described;
}

export interface OpenApiOptions {
  /** Open mode (no TENANTS_FILE): the document says no credential is needed. */
  open: boolean;
}

/**
 * Registers @fastify/swagger. It documents the routes it sees being added, so this comes before
 * every route of the app.
 */
export async function registerOpenApi(app: FastifyInstance, { open }: OpenApiOptions): Promise<void> {
  const access = open
    ? '**This server runs in open mode** (no TENANTS_FILE): no API key or sign-in is checked. Development and demo only.'
    : 'Tenant routes need the tenant’s API key (`Authorization: Bearer …`), server to server. Browsers get single-use session tokens, never keys. Operators sign in at `/ops`. This reference needs an API key or an operator sign-in.';
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Face verification API',
        version: `1 (live protocol ${PROTOCOL_VERSION})`,
        description: [
          'The HTTP API of the face verification service, generated from the route schemas.',
          '',
          'The live WebSocket protocol (`/v1/sessions/{id}/stream`, `/v1/ops`) is described by the [AsyncAPI document](/asyncapi.json); this one is also at [/openapi.json](/openapi.json).',
          '',
          `Errors are \`{"error": {"code", "message"}}\` with a stable code. ${access}`,
        ].join('\n'),
      },
      tags: TAGS,
      webhooks: WEBHOOKS,
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'A tenant’s API key (TENANTS_FILE).' },
          operatorSession: {
            type: 'apiKey',
            in: 'cookie',
            name: 'fv_ops',
            description: 'The operator session cookie `POST /v1/ops/login` sets.',
          },
          metricsToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'The metrics token (METRICS_TOKEN_SHA256).',
          },
        },
      },
    },
    // Untagged routes stay in the document (without a summary): the OpenAPI test catches them,
    // where hiding them would let an undocumented route pass unnoticed.
    hideUntagged: false,
    transform: ({ schema, url, route }) => {
      // @fastify/websocket hides every WebSocket route; they are HTTP endpoints all the same (an
      // upgrade that can be refused with an HTTP error), so they are listed, pointing at AsyncAPI.
      const merged: FastifySchema = route.websocket
        ? { ...schema, hide: false, ...WEBSOCKET_DOCS[url] }
        : schema;
      const { documentedBody, ...rest } = merged;
      const documented = { ...rest, response: describeResponses(rest.response) };
      return { schema: documentedBody ? { ...documented, body: documentedBody } : documented, url };
    },
  });
}
