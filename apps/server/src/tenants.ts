import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { VerificationError } from '@fv/core';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const OriginSchema = Type.String({ pattern: '^https?://[^/?#@\\s]+$', maxLength: 256 });

/** One tenant in `TENANTS_FILE`. Keys are stored as SHA-256 hashes only; the file holds no key. */
export const TenantSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    /** Hex SHA-256 of each valid API key (several, so keys can be rotated without downtime). */
    keySha256: Type.Array(Type.String({ pattern: '^[0-9a-f]{64}$' }), { minItems: 1, maxItems: 10 }),
    /** Origins the tenant may name for its embeds; a session asking for another is refused. */
    allowedOrigins: Type.Array(OriginSchema, { maxItems: 50, default: [] }),
    maxConcurrentSessions: Type.Integer({ minimum: 1, maximum: 100_000, default: 50 }),
    /** Optional signed webhook when a session finishes. */
    webhook: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^https?://', maxLength: 2048 }),
          /** Environment variable holding the HMAC secret (kept out of the file). */
          secretEnv: Type.String({ pattern: '^[A-Z_][A-Z0-9_]*$' }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type TenantConfig = Static<typeof TenantSchema>;

export const TenantsFileSchema = Type.Object(
  { tenants: Type.Array(TenantSchema, { maxItems: 10_000 }) },
  { additionalProperties: false },
);

export interface Tenant extends Omit<TenantConfig, 'webhook'> {
  webhook: { url: string; secret: string } | null;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A new API key and the hash that goes into the tenants file (the key is shown once). */
export function newApiKey(): { key: string; sha256: string } {
  const key = `fvk_${randomBytes(32).toString('base64url')}`;
  return { key, sha256: sha256(key) };
}

/** The API key in `Authorization: Bearer <key>`, or null. */
export function bearerKey(header: string | undefined): string | null {
  const match = /^Bearer ([A-Za-z0-9_-]{16,200})$/.exec(header ?? '');
  return match?.[1] ?? null;
}

/**
 * Tenants and their API keys. Keys are looked up by hash: a key is 256 random bits, so its SHA-256
 * is enough at rest (no slow hash needed) and a lookup leaks nothing useful about other keys.
 */
export class TenantRegistry {
  readonly #byKeyHash = new Map<string, Tenant>();
  readonly #byId = new Map<string, Tenant>();

  constructor(tenants: readonly Tenant[]) {
    for (const tenant of tenants) {
      if (this.#byId.has(tenant.id)) throw new TypeError(`Duplicate tenant id ${tenant.id}`);
      this.#byId.set(tenant.id, tenant);
      for (const hash of tenant.keySha256) {
        if (this.#byKeyHash.has(hash))
          throw new TypeError(`A key hash is listed twice (tenant ${tenant.id})`);
        this.#byKeyHash.set(hash, tenant);
      }
    }
  }

  /**
   * Reads and validates `TENANTS_FILE`; webhook secrets come from the environment. Any problem
   * throws an error naming the file and the field, so a bad deployment stops at start-up.
   */
  static fromFile(file: string, env: NodeJS.ProcessEnv = process.env): TenantRegistry {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new Error(`TENANTS_FILE ${file}: ${(error as Error).message}`);
    }
    const withDefaults = Value.Default(TenantsFileSchema, raw);
    if (!Value.Check(TenantsFileSchema, withDefaults)) {
      const first = Value.Errors(TenantsFileSchema, withDefaults).First();
      throw new Error(`TENANTS_FILE ${file}: ${first?.path ?? '/'} ${first?.message ?? 'is invalid'}`);
    }
    return new TenantRegistry(
      withDefaults.tenants.map(({ webhook, ...tenant }) => {
        if (!webhook) return { ...tenant, webhook: null };
        const secret = env[webhook.secretEnv];
        if (!secret || secret.length < 16) {
          throw new Error(
            `TENANTS_FILE ${file}: tenant ${tenant.id} needs ${webhook.secretEnv} (≥ 16 characters)`,
          );
        }
        return { ...tenant, webhook: { url: webhook.url, secret } };
      }),
    );
  }

  get size(): number {
    return this.#byId.size;
  }

  get(id: string): Tenant | null {
    return this.#byId.get(id) ?? null;
  }

  /** The tenant owning `Authorization: Bearer <key>`; API_KEY_REQUIRED or INVALID_API_KEY otherwise. */
  authenticate(authorization: string | undefined): Tenant {
    if (!authorization) throw new VerificationError('API_KEY_REQUIRED');
    const key = bearerKey(authorization);
    const tenant = key ? this.#byKeyHash.get(sha256(key)) : undefined;
    if (!tenant) throw new VerificationError('INVALID_API_KEY');
    return tenant;
  }
}
