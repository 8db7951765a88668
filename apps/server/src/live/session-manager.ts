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
  /** Hash of the current single-use stream token; each hello swaps in the next one. */
  tokenHash: Buffer;
  /** Whether a stream has started (the first token was spent). */
  tokenUsed: boolean;
  /** Origins allowed to embed this session's widget (`/embed`); empty: only our own pages. */
  readonly allowedOrigins: readonly string[];
  reference: Float32Array | null;
  live: LiveSession | null;
  lastScore: ScoreMessage | null;
  framesAnalysed: number;
}

export const hashToken = (token: string): Buffer => createHash('sha256').update(token).digest();

/** A stream token: `<session id>.<secret>`, so the embed page can name its session from it alone. */
const newToken = (id: string): string => `${id}.${randomBytes(24).toString('base64url')}`;
const TOKEN_PATTERN = /^(ses_[A-Za-z0-9_-]{16})\.[A-Za-z0-9_-]{32}$/;

/** The session id a well-formed token names, or null. Says nothing about the token's validity. */
export function sessionIdOfToken(token: string): string | null {
  return TOKEN_PATTERN.exec(token)?.[1] ?? null;
}

/** Swaps the stored token hash from `presented` to `next` atomically; false when `presented` is not current. */
export type TokenSwap = (presented: Buffer, next: Buffer) => Promise<boolean>;

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
    allowedOrigins: readonly string[] = [],
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
    const token = newToken(id);
    const createdAt = this.#now();
    const record: SessionRecord = {
      id,
      createdAt,
      expiresAt: createdAt + ttlSeconds * 1000,
      tokenHash: hashToken(token),
      tokenUsed: false,
      allowedOrigins,
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

  /**
   * Spends the session's current single-use stream token and issues the next one, which the
   * client keeps to resume after a dropped connection. A wrong or already spent token is refused.
   * `swap` makes the spend cluster-wide (distributed mode: Redis swaps the hash atomically).
   */
  async claim(
    id: string,
    token: string,
    swap?: TokenSwap,
  ): Promise<{ record: SessionRecord; resumeToken: string }> {
    const record = this.get(id);
    const presented = hashToken(token);
    const resumeToken = newToken(id);
    const next = hashToken(resumeToken);
    const ok = swap ? await swap(presented, next) : timingSafeEqual(presented, record.tokenHash);
    if (!ok) throw new VerificationError('UNAUTHORIZED');
    record.tokenHash = next;
    record.tokenUsed = true;
    return { record, resumeToken };
  }

  /** Live and recent sessions, newest first (the operator dashboard). */
  list(): SessionRecord[] {
    return [...this.#sessions.values()].sort((a, b) => b.createdAt - a.createdAt);
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
