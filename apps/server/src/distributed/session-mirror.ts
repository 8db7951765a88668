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
  reference: Float32Array | null;
  lastScore: ScoreMessage | null;
  framesAnalysed: number;
}

/**
 * Session state shared by gateways in distributed mode: one Redis hash per session, expiring with
 * the session. The token's single use is enforced in Redis (`HINCRBY`), so a token cannot be spent
 * once on each of two gateways. Reference images are never stored; embeddings are.
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
      reference: ref ? new Float32Array(ref.buffer.slice(ref.byteOffset, ref.byteOffset + ref.length)) : null,
      lastScore: h['lastScore'] ? (JSON.parse(h['lastScore']) as ScoreMessage) : null,
      framesAnalysed: Number(h['framesAnalysed'] ?? 0),
    };
  }

  /** Spends the token cluster-wide; false when some gateway already spent it. */
  async spendToken(id: string): Promise<boolean> {
    return (await this.#redis.hincrby(this.#key(id), 'used', 1)) === 1;
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
      tokenHash: record.tokenHash.toString('base64'),
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
    await this.#redis.multi().hset(key, fields).pexpireat(key, record.expiresAt).exec();
  }

  close(): void {
    this.#redis.disconnect();
  }
}
