import { Redis } from 'ioredis';
import type { ScoreMessage } from '@fv/protocol';
import type { SessionRecord } from '../live/session-manager.ts';
import { redisOptionsFromUrl } from './redis-options.ts';

/** What another gateway needs to serve a session: no images, only the reference embedding. */
export interface MirroredSession {
  id: string;
  createdAt: number;
  expiresAt: number;
  tokenHash: Buffer;
  tokenUsed: boolean;
  allowedOrigins: string[];
  reference: Float32Array | null;
  lastScore: ScoreMessage | null;
  framesAnalysed: number;
}

const SWAP_TOKEN = `
local current = redis.call('HGET', KEYS[1], 'tokenHash')
if not current or current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'tokenHash', ARGV[2], 'used', '1')
return 1`;

/**
 * Session state shared by gateways in distributed mode: one Redis hash per session, expiring with
 * the session. Each token's single use is enforced in Redis (an atomic swap of its hash), so a token
 * cannot be spent once on each of two gateways. Reference images are never stored; embeddings are.
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

  #key(id: string): string {
    return `${this.#prefix}:session:${id}`;
  }

  async load(id: string): Promise<MirroredSession | null> {
    const h = await this.#redis.hgetall(this.#key(id));
    if (!h['expiresAt'] || !h['tokenHash']) return null;
    const ref = h['reference'] ? Buffer.from(h['reference'], 'base64') : null;
    return {
      id,
      createdAt: Number(h['createdAt']),
      expiresAt: Number(h['expiresAt']),
      tokenHash: Buffer.from(h['tokenHash'], 'base64'),
      tokenUsed: Number(h['used'] ?? 0) > 0,
      allowedOrigins: h['allowedOrigins'] ? (JSON.parse(h['allowedOrigins']) as string[]) : [],
      reference: ref ? new Float32Array(ref.buffer.slice(ref.byteOffset, ref.byteOffset + ref.length)) : null,
      lastScore: h['lastScore'] ? (JSON.parse(h['lastScore']) as ScoreMessage) : null,
      framesAnalysed: Number(h['framesAnalysed'] ?? 0),
    };
  }

  /**
   * Spends the presented token cluster-wide by swapping the stored hash for the next token's in
   * one step (a Lua script): false when it is not the current token, e.g. another gateway spent it.
   */
  async swapToken(id: string, presented: Buffer, next: Buffer): Promise<boolean> {
    const swapped = await this.#redis.eval(
      SWAP_TOKEN,
      1,
      this.#key(id),
      presented.toString('base64'),
      next.toString('base64'),
    );
    return swapped === 1;
  }

  /**
   * Writes the session's current state (latest score included). Writing everything, not just the
   * score, restores the shared copy, token use included, after a Redis restart lost it.
   */
  async saveState(record: SessionRecord): Promise<void> {
    const key = this.#key(record.id);
    const fields: Record<string, string> = {
      createdAt: String(record.createdAt),
      expiresAt: String(record.expiresAt),
      allowedOrigins: JSON.stringify(record.allowedOrigins),
      reference: record.reference
        ? Buffer.from(
            record.reference.buffer,
            record.reference.byteOffset,
            record.reference.byteLength,
          ).toString('base64')
        : '',
      framesAnalysed: String(record.framesAnalysed),
      ...(record.lastScore && { lastScore: JSON.stringify(record.lastScore) }),
      ...(record.tokenUsed && { used: '1' }),
    };
    // The token hash only fills a gap (a Redis restart); otherwise swapToken alone moves it on, so
    // a gateway writing a stale copy can never bring a spent token back.
    await this.#redis
      .multi()
      .hset(key, fields)
      .hsetnx(key, 'tokenHash', record.tokenHash.toString('base64'))
      .pexpireat(key, record.expiresAt)
      .exec();
  }

  close(): void {
    this.#redis.disconnect();
  }
}
