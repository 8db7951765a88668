import { Redis } from 'ioredis';
import { parseLivenessPolicy, parseLivenessState, type ScoreMessage } from '@fv/protocol';
import { initialLiveness } from '../live/liveness-check.ts';
import type { SessionData, SessionEndReason } from '../live/session-store.ts';
import { redisOptionsFromUrl } from './redis-options.ts';

// 1: swapped; 0: not the current token (or the session has ended); 2: current but expired.
const SWAP_TOKEN = `
local current = redis.call('HGET', KEYS[1], 'tokenHash')
if not current or current ~= ARGV[1] then return 0 end
local ended = redis.call('HGET', KEYS[1], 'endedBy')
if ended and ended ~= '' then return 0 end
local expires = tonumber(redis.call('HGET', KEYS[1], 'tokenExpiresAt') or '0')
if expires < tonumber(ARGV[3]) then return 2 end
redis.call('HSET', KEYS[1], 'tokenHash', ARGV[2], 'tokenExpiresAt', ARGV[4], 'used', '1')
return 1`;

const ADMIT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.call('PEXPIREAT', KEYS[1], math.max(tonumber(ARGV[4]), redis.call('PTTL', KEYS[1]) + tonumber(ARGV[1])))
return 1`;

/**
 * The Redis side of `RedisSessionStore`: one Redis hash per session, expiring with the session.
 * Each token's single use is enforced in Redis (an atomic swap of its hash), so a token cannot be
 * spent once on each of two gateways. Reference images are never stored; embeddings are.
 */
export class RedisSessionMirror {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redisUrl: string, prefix = 'fv') {
    this.#redis = new Redis({ ...redisOptionsFromUrl(redisUrl), lazyConnect: false });
    this.#redis.on('error', () => {
      // reconnects by itself; callers see failed commands
    });
    this.#prefix = prefix;
  }

  /** The connection, shared with the rate limiter and the attempt counters. */
  get redis(): Redis {
    return this.#redis;
  }

  #key(id: string): string {
    return `${this.#prefix}:session:${id}`;
  }

  /** The shared copy of a session (what another gateway needs to serve it), or null. */
  async load(id: string): Promise<SessionData | null> {
    const h = await this.#redis.hgetall(this.#key(id));
    if (!h['expiresAt'] || !h['tokenHash']) return null;
    const ref = h['reference'] ? Buffer.from(h['reference'], 'base64') : null;
    // Parsed, not trusted: a gateway of another version may have written it.
    const livenessPolicy = parseLivenessPolicy(h['livenessPolicy'] ?? 'null');
    return {
      id,
      tenantId: h['tenantId'] ?? 'default',
      tokenExpiresAt: Number(h['tokenExpiresAt'] ?? 0),
      endedBy: (h['endedBy'] || null) as SessionEndReason | null,
      createdAt: Number(h['createdAt']),
      expiresAt: Number(h['expiresAt']),
      tokenHash: Buffer.from(h['tokenHash'], 'base64'),
      tokenUsed: Number(h['used'] ?? 0) > 0,
      allowedOrigins: h['allowedOrigins'] ? (JSON.parse(h['allowedOrigins']) as string[]) : [],
      reference: ref ? new Float32Array(ref.buffer.slice(ref.byteOffset, ref.byteOffset + ref.length)) : null,
      lastScore: h['lastScore'] ? (JSON.parse(h['lastScore']) as ScoreMessage) : null,
      framesAnalysed: Number(h['framesAnalysed'] ?? 0),
      livenessPolicy,
      liveness: h['liveness'] ? parseLivenessState(h['liveness']) : initialLiveness(livenessPolicy),
      decision: h['decision'] === 'verified' || h['decision'] === 'not_verified' ? h['decision'] : 'pending',
    };
  }

  /**
   * Spends the presented token cluster-wide by swapping the stored hash for the next token's in
   * one step (a Lua script): false when it is not the current token, e.g. another gateway spent it.
   */
  async swapToken(
    id: string,
    presented: Buffer,
    next: Buffer,
    now: number,
    nextExpiry: number,
  ): Promise<'ok' | 'invalid' | 'expired'> {
    const result = await this.#redis.eval(
      SWAP_TOKEN,
      1,
      this.#key(id),
      presented.toString('base64'),
      next.toString('base64'),
      String(now),
      String(nextExpiry),
    );
    return result === 1 ? 'ok' : result === 2 ? 'expired' : 'invalid';
  }

  /**
   * Counts a new session against its tenant's concurrency limit, cluster-wide (a sorted set of
   * session ids scored by expiry); false when the tenant is at `max`.
   */
  async admitSession(tenantId: string, id: string, expiresAt: number, max: number): Promise<boolean> {
    const key = `${this.#prefix}:tenant:${tenantId}:sessions`;
    return (
      (await this.#redis.eval(ADMIT, 1, key, String(Date.now()), String(max), id, String(expiresAt))) === 1
    );
  }

  /** Frees the session's slot in its tenant's count and marks it ended for every gateway. */
  async endSession(record: Pick<SessionData, 'id' | 'tenantId'>, reason: SessionEndReason): Promise<void> {
    await this.#redis
      .multi()
      .zrem(`${this.#prefix}:tenant:${record.tenantId}:sessions`, record.id)
      .hset(this.#key(record.id), 'endedBy', reason)
      .exec();
  }

  /** True for exactly one caller per session: who sends its webhook. */
  async claimWebhook(id: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.set(`${this.#prefix}:webhook:${id}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  /**
   * Writes the session's current state (latest score included). Writing everything, not just the
   * score, restores the shared copy, token use included, after a Redis restart lost it.
   */
  async saveState(record: SessionData): Promise<void> {
    const key = this.#key(record.id);
    const fields: Record<string, string> = {
      createdAt: String(record.createdAt),
      expiresAt: String(record.expiresAt),
      allowedOrigins: JSON.stringify(record.allowedOrigins),
      tenantId: record.tenantId,
      ...(record.endedBy && { endedBy: record.endedBy }),
      reference: record.reference
        ? Buffer.from(
            record.reference.buffer,
            record.reference.byteOffset,
            record.reference.byteLength,
          ).toString('base64')
        : '',
      framesAnalysed: String(record.framesAnalysed),
      livenessPolicy: JSON.stringify(record.livenessPolicy),
      liveness: JSON.stringify(record.liveness),
      decision: record.decision,
      ...(record.lastScore && { lastScore: JSON.stringify(record.lastScore) }),
      ...(record.tokenUsed && { used: '1' }),
    };
    // The token hash only fills a gap (a Redis restart); otherwise swapToken alone moves it on, so
    // a gateway writing a stale copy can never bring a spent token back.
    await this.#redis
      .multi()
      .hset(key, fields)
      .hsetnx(key, 'tokenHash', record.tokenHash.toString('base64'))
      .hsetnx(key, 'tokenExpiresAt', String(record.tokenExpiresAt))
      .pexpireat(key, record.expiresAt)
      .exec();
  }

  close(): void {
    this.#redis.disconnect();
  }
}
