import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { VerificationError } from '@fv/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SessionRecord } from './live/session-store.ts';
import type { Tenant, TenantRegistry } from './tenants.ts';

/** The one tenant of open mode (no `TENANTS_FILE`): development and the demo, never production. */
export const OPEN_TENANT: Tenant = {
  id: 'default',
  name: 'Open mode (no TENANTS_FILE)',
  keySha256: [],
  allowedOrigins: [],
  maxConcurrentSessions: 1000,
  webhook: null,
};

export interface AccessOptions {
  /** Tenants and their keys; null: open mode, every request acts as {@link OPEN_TENANT}. */
  tenants: TenantRegistry | null;
  /** With tenants: the tenant the demo page's `/v1/demo/*` routes act for; null: no demo. */
  demoTenant: string | null;
  /** Hex SHA-256 of the operator credential; null: the dashboard is open in open mode only. */
  opsTokenSha256: string | null;
  /** This service's public origin (`https://verify.example`); null: taken from each request's Host. */
  publicOrigin: string | null;
  /** How long an operator stays signed in. @defaultValue 8 h */
  opsSessionSeconds?: number;
  /** Hex SHA-256 of the `/metrics` bearer token; null: none (see {@link AccessControl.authorizeMetrics}). */
  metricsTokenSha256?: string | null;
}

const OPS_COOKIE = 'fv_ops';
const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

function cookie(request: FastifyRequest, name: string): string | null {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return null;
}

/**
 * Who may do what. Tenants authenticate server to server with API keys; browsers hold only
 * short-lived single-use session tokens, from pages on our origin or the session's allowed ones;
 * operators sign in with their own credential and get an HMAC-signed cookie (stateless, so every
 * gateway accepts it).
 */
export class AccessControl {
  readonly open: boolean;
  readonly #options: Required<AccessOptions>;
  readonly #demo: Tenant | null;

  constructor(options: AccessOptions) {
    this.#options = { opsSessionSeconds: 8 * 3600, metricsTokenSha256: null, ...options };
    this.open = options.tenants === null;
    if (options.demoTenant !== null && options.tenants) {
      this.#demo = options.tenants.get(options.demoTenant);
      if (!this.#demo) throw new Error(`DEMO_TENANT=${options.demoTenant}: no such tenant in TENANTS_FILE`);
    } else {
      this.#demo = this.open ? OPEN_TENANT : null;
    }
    if (options.opsTokenSha256 !== null && !/^[0-9a-f]{64}$/.test(options.opsTokenSha256)) {
      throw new Error('OPS_TOKEN_SHA256 must be 64 lowercase hex characters (sha256 of the operator token)');
    }
    const metricsToken = this.#options.metricsTokenSha256;
    if (metricsToken !== null && !/^[0-9a-f]{64}$/.test(metricsToken)) {
      throw new Error('METRICS_TOKEN_SHA256 must be 64 lowercase hex characters (sha256 of the token)');
    }
  }

  /** The tenant a server-to-server request acts for (its API key), or a coded refusal. */
  tenant(request: FastifyRequest): Tenant {
    if (!this.#options.tenants) return OPEN_TENANT;
    return this.#options.tenants.authenticate(request.headers.authorization);
  }

  /** A tenant by id (webhooks, limits); the open tenant in open mode. */
  tenantById(id: string): Tenant | null {
    if (!this.#options.tenants) return id === OPEN_TENANT.id ? OPEN_TENANT : null;
    return this.#options.tenants.get(id);
  }

  /** This service's own origin, as browsers see it. */
  ownOrigin(request: FastifyRequest): string {
    return this.#options.publicOrigin ?? `${request.protocol}://${request.headers.host ?? ''}`;
  }

  /**
   * The demo page's tenant for `/v1/demo/*`: only for our own pages (same-origin requests), and
   * only where open mode or `DEMO_TENANT` allows it.
   */
  demoTenant(request: FastifyRequest): Tenant {
    if (!this.#demo) throw new VerificationError('NOT_FOUND', 'The demo is not enabled on this server.');
    const origin = request.headers.origin;
    const site = request.headers['sec-fetch-site'];
    if ((origin && origin !== this.ownOrigin(request)) || (site && site !== 'same-origin')) {
      throw new VerificationError(
        'ORIGIN_NOT_ALLOWED',
        'The demo routes serve only this server’s own pages.',
      );
    }
    return this.#demo;
  }

  /**
   * A stream's WebSocket upgrade carries the page's `Origin`: it must be ours (demo, embed) or
   * one the session names. Non-browser clients send none; for them the token alone counts.
   */
  checkStreamOrigin(request: FastifyRequest, record: Pick<SessionRecord, 'allowedOrigins'>): void {
    const origin = request.headers.origin;
    if (origin === undefined || origin === this.ownOrigin(request) || record.allowedOrigins.includes(origin))
      return;
    throw new VerificationError('ORIGIN_NOT_ALLOWED');
  }

  /** Whether a presented operator token is the configured one (constant time). */
  #opsTokenOk(token: string): boolean {
    const expected = this.#options.opsTokenSha256;
    if (!expected) return false;
    return timingSafeEqual(sha256(token), Buffer.from(expected, 'hex'));
  }

  /** Whether `/metrics` has a bearer token of its own (`METRICS_TOKEN_SHA256`). */
  get metricsTokenRequired(): boolean {
    return this.#options.metricsTokenSha256 !== null;
  }

  /**
   * `/metrics`: with a configured token, `Authorization: Bearer <token>` (compared in constant time,
   * as hashes) wherever it is served; without one, open — the app serves it without a token only in
   * open mode or on the internal METRICS_PORT listener (see app.ts).
   */
  authorizeMetrics(request: FastifyRequest): void {
    const expected = this.#options.metricsTokenSha256;
    if (expected === null) return;
    const token = /^Bearer (\S{1,512})$/.exec(request.headers.authorization ?? '')?.[1];
    if (token === undefined) {
      throw new VerificationError(
        'UNAUTHORIZED',
        'The metrics need their bearer token (Authorization: Bearer …).',
      );
    }
    if (!timingSafeEqual(sha256(token), Buffer.from(expected, 'hex'))) {
      throw new VerificationError('UNAUTHORIZED', 'Wrong metrics token.');
    }
  }

  /**
   * The API reference (`/docs`, `/openapi.json`, `/asyncapi.json`) follows the API's own rules. Open
   * mode: public, like the API. With tenants, for the two kinds of caller the API has: a tenant's
   * API key (`Authorization: Bearer …`, for tooling and code generators; a wrong key is refused as
   * on any tenant route), or a signed-in operator's session cookie (the browser UI: sign in at
   * `/ops`, then open `/docs`). Browsers' single-use session tokens and the demo's same-origin pages
   * grant nothing here: the reference is for integrators and operators, not end users.
   */
  authorizeDocs(request: FastifyRequest): void {
    if (this.open) return;
    if (request.headers.authorization !== undefined) {
      this.tenant(request);
      return;
    }
    if (cookie(request, OPS_COOKIE) === null) {
      throw new VerificationError(
        'UNAUTHORIZED',
        'The API reference needs a tenant API key (Authorization: Bearer …) or an operator sign-in (/ops).',
      );
    }
    this.authorizeOps(request);
  }

  #opsSignature(expiresAt: number): string {
    return createHmac('sha256', Buffer.from(this.#options.opsTokenSha256 ?? '', 'hex'))
      .update(`ops:${expiresAt}`)
      .digest('base64url');
  }

  /** `POST /v1/ops/login`: a correct operator token earns an HttpOnly, SameSite=Strict cookie. */
  opsLogin(request: FastifyRequest, reply: FastifyReply, token: string): void {
    if (!this.#options.opsTokenSha256) {
      throw new VerificationError('UNAUTHORIZED', 'No operator credential is configured (OPS_TOKEN_SHA256).');
    }
    if (!this.#opsTokenOk(token)) throw new VerificationError('UNAUTHORIZED', 'Wrong operator token.');
    const expiresAt = Math.floor(Date.now() / 1000) + this.#options.opsSessionSeconds;
    const secure = this.ownOrigin(request).startsWith('https:') ? '; Secure' : '';
    void reply.header(
      'set-cookie',
      `${OPS_COOKIE}=${expiresAt}.${this.#opsSignature(expiresAt)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${this.#options.opsSessionSeconds}${secure}`,
    );
  }

  /** The dashboard feed's gate: open in open mode without a credential, else a valid cookie. */
  authorizeOps(request: FastifyRequest): void {
    if (!this.#options.opsTokenSha256) {
      if (this.open) return;
      throw new VerificationError(
        'UNAUTHORIZED',
        'The dashboard needs an operator credential (OPS_TOKEN_SHA256).',
      );
    }
    const value = cookie(request, OPS_COOKIE) ?? '';
    const [expires, signature = ''] = value.split('.');
    const expiresAt = Number(expires);
    const expected = Buffer.from(this.#opsSignature(expiresAt));
    const given = Buffer.from(signature);
    const valid =
      Number.isInteger(expiresAt) &&
      expiresAt > Date.now() / 1000 &&
      given.length === expected.length &&
      timingSafeEqual(given, expected);
    if (!valid) throw new VerificationError('UNAUTHORIZED', 'Sign in to the operator dashboard.');
  }
}
