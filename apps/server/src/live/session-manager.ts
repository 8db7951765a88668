import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { VerificationError } from '@fv/core';
import type { ScoreMessage } from '@fv/protocol';
import type { LiveSession } from './live-session.ts';

export interface SessionManagerOptions {
  /** Default session lifetime. @defaultValue 600 s */
  defaultTtlSeconds?: number;
  /** Longest lifetime a caller may ask for. @defaultValue 3600 s */
  maxTtlSeconds?: number;
  /** Sessions kept at once; more are refused. @defaultValue 10 000 */
  maxSessions?: number;
  /** How often expired sessions are removed. @defaultValue 5 s */
  sweepIntervalMs?: number;
  now?: () => number;
}

export const DEFAULT_SESSION_MANAGER_OPTIONS = {
  defaultTtlSeconds: 600,
  maxTtlSeconds: 3600,
  maxSessions: 10_000,
  sweepIntervalMs: 5000,
} as const;

export interface SessionRecord {
  readonly id: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly tokenHash: Buffer;
  tokenUsed: boolean;
  reference: Float32Array | null;
  live: LiveSession | null;
  lastScore: ScoreMessage | null;
  framesAnalysed: number;
}

const hashToken = (token: string): Buffer => createHash('sha256').update(token).digest();

/**
 * In-memory session registry for the embedded mode: ids, single-use stream tokens (only their
 * hashes are kept), reference embeddings (never images), latest results, and expiry.
 */
export class SessionManager {
  readonly options: Readonly<Required<Omit<SessionManagerOptions, 'now'>>>;
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #now: () => number;
  #sweeper: ReturnType<typeof setInterval> | null;

  constructor(options: SessionManagerOptions = {}) {
    const { now, ...rest } = options;
    this.options = { ...DEFAULT_SESSION_MANAGER_OPTIONS, ...rest };
    if (!(
      this.options.defaultTtlSeconds > 0 && this.options.defaultTtlSeconds <= this.options.maxTtlSeconds
    )) {
      throw new TypeError('defaultTtlSeconds must be in (0, maxTtlSeconds]');
    }
    this.#now = now ?? Date.now;
    this.#sweeper = setInterval(() => this.sweep(), this.options.sweepIntervalMs);
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  create(
    reference: Float32Array | null,
    ttlSeconds: number = this.options.defaultTtlSeconds,
  ): {
    sessionId: string;
    token: string;
    expiresAt: string;
  } {
    if (!(ttlSeconds > 0 && ttlSeconds <= this.options.maxTtlSeconds)) {
      throw new VerificationError('BAD_REQUEST', `ttlSeconds must be in (0, ${this.options.maxTtlSeconds}]`);
    }
    this.sweep();
    if (this.#sessions.size >= this.options.maxSessions)
      throw new VerificationError('QUEUE_FULL', 'Too many sessions.');
    const id = `ses_${randomBytes(12).toString('base64url')}`;
    const token = `tok_${randomBytes(24).toString('base64url')}`;
    const createdAt = this.#now();
    const record: SessionRecord = {
      id,
      createdAt,
      expiresAt: createdAt + ttlSeconds * 1000,
      tokenHash: hashToken(token),
      tokenUsed: false,
      reference,
      live: null,
      lastScore: null,
      framesAnalysed: 0,
    };
    this.#sessions.set(id, record);
    return { sessionId: id, token, expiresAt: new Date(record.expiresAt).toISOString() };
  }

  /** The session, or NOT_FOUND / SESSION_EXPIRED. */
  get(id: string): SessionRecord {
    const record = this.#sessions.get(id);
    if (record === undefined) throw new VerificationError('NOT_FOUND', 'No such session.');
    if (this.#now() >= record.expiresAt) {
      this.#remove(record);
      throw new VerificationError('SESSION_EXPIRED');
    }
    return record;
  }

  has(id: string): boolean {
    return this.#sessions.has(id);
  }

  /** Takes in a session created on another gateway (distributed mode). */
  adopt(session: Omit<SessionRecord, 'live'>): SessionRecord {
    const existing = this.#sessions.get(session.id);
    if (existing) return existing;
    const record: SessionRecord = { ...session, live: null };
    this.#sessions.set(record.id, record);
    return record;
  }

  /** Spends the session's single-use stream token; a second use, or a wrong token, is refused. */
  claim(id: string, token: string): SessionRecord {
    const record = this.get(id);
    const ok = timingSafeEqual(hashToken(token), record.tokenHash);
    if (!ok || record.tokenUsed) throw new VerificationError('UNAUTHORIZED');
    record.tokenUsed = true;
    return record;
  }

  /** Removes expired sessions, closing their live streams. */
  sweep(): void {
    const now = this.#now();
    for (const record of this.#sessions.values()) if (now >= record.expiresAt) this.#remove(record);
  }

  #remove(record: SessionRecord): void {
    record.live?.close();
    record.live = null;
    record.reference = null;
    this.#sessions.delete(record.id);
  }

  /** Closes every live stream and stops the sweeper. Idempotent. */
  close(): void {
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
    for (const record of this.#sessions.values()) this.#remove(record);
  }
}
