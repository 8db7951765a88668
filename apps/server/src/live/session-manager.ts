import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
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
  /**
   * How long a browser token stays usable: the first hello must come within this time of the
   * session's creation, a resume within this time of the previous hello. @defaultValue 180 s
   */
  tokenTtlSeconds?: number;
  now?: () => number;
}

export const DEFAULT_SESSION_MANAGER_OPTIONS = {
  defaultTtlSeconds: 600,
  maxTtlSeconds: 3600,
  maxSessions: 10_000,
  sweepIntervalMs: 5000,
  tokenTtlSeconds: 180,
} as const;

/** Why a session ended: the client said `bye`, the tenant or a limit ended it, or its time ran out. */
export type SessionEndReason = 'bye' | 'expired' | 'too_many_attempts';

export interface SessionRecord {
  readonly id: string;
  /** The tenant that created it; only that tenant can read it. */
  readonly tenantId: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** Hash of the current single-use stream token; each hello swaps in the next one. */
  tokenHash: Buffer;
  /** When the current token stops being accepted (ms since the epoch). */
  tokenExpiresAt: number;
  /** Whether a stream has started (the first token was spent). */
  tokenUsed: boolean;
  /** Set when the session has ended before its expiry (bye, a limit): no stream may start again. */
  endedBy: SessionEndReason | null;
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

/**
 * Swaps the stored token hash from `presented` to `next` (valid until `nextExpiry`) atomically:
 * `invalid` when `presented` is not the current token, `expired` when it is but its time is up.
 */
export type TokenSwap = (
  presented: Buffer,
  next: Buffer,
  now: number,
  nextExpiry: number,
) => Promise<'ok' | 'invalid' | 'expired'>;

/**
 * In-memory session registry for the embedded mode: ids, single-use stream tokens (only their
 * hashes are kept), reference embeddings (never images), latest results, and expiry.
 */
export interface SessionManagerEvents {
  /** A session ended: by `end()` (bye, a limit) or by expiring. Fired once per session. */
  ended: [{ record: SessionRecord; reason: SessionEndReason }];
}

export class SessionManager extends EventEmitter<SessionManagerEvents> {
  readonly options: Readonly<Required<Omit<SessionManagerOptions, 'now'>>>;
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #now: () => number;
  #sweeper: ReturnType<typeof setInterval> | null;

  constructor(options: SessionManagerOptions = {}) {
    super();
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
    tenantId = 'default',
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
      tenantId,
      createdAt,
      tokenExpiresAt: createdAt + Math.min(ttlSeconds, this.options.tokenTtlSeconds) * 1000,
      endedBy: null,
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
    if (record.endedBy)
      throw new VerificationError('SESSION_EXPIRED', `The session has ended (${record.endedBy}).`);
    const presented = hashToken(token);
    const resumeToken = newToken(id);
    const next = hashToken(resumeToken);
    const now = this.#now();
    const nextExpiry = Math.min(record.expiresAt, now + this.options.tokenTtlSeconds * 1000);
    let ok: boolean;
    if (swap) {
      const result = await swap(presented, next, now, nextExpiry);
      if (result === 'expired') throw new VerificationError('TOKEN_EXPIRED');
      ok = result === 'ok';
    } else {
      ok = timingSafeEqual(presented, record.tokenHash);
      // Only the holder of the current token learns that it expired.
      if (ok && now > record.tokenExpiresAt) throw new VerificationError('TOKEN_EXPIRED');
    }
    if (!ok) throw new VerificationError('UNAUTHORIZED');
    record.tokenHash = next;
    record.tokenExpiresAt = nextExpiry;
    record.tokenUsed = true;
    return { record, resumeToken };
  }

  /** Ends a session before its expiry: its stream closes and no token starts one again. */
  end(id: string, reason: Exclude<SessionEndReason, 'expired'>): void {
    const record = this.#sessions.get(id);
    if (!record || record.endedBy) return;
    record.endedBy = reason;
    this.emit('ended', { record, reason });
  }

  /** Forgets a session that was never handed out (a limit refused it after creation). */
  discard(id: string): void {
    const record = this.#sessions.get(id);
    if (record) this.#remove(record, false);
  }

  /** Sessions of one tenant that have not ended or expired (its concurrency count). */
  activeFor(tenantId: string): number {
    // Counted by expiry time rather than by sweeping first: create() sweeps anyway.
    const now = this.#now();
    let count = 0;
    for (const record of this.#sessions.values())
      if (record.tenantId === tenantId && !record.endedBy && now < record.expiresAt) count++;
    return count;
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

  #remove(record: SessionRecord, expired = true): void {
    // Shutting down is not an ending: in distributed mode another gateway carries the session on.
    if (expired && !record.endedBy) {
      record.endedBy = 'expired';
      this.emit('ended', { record, reason: 'expired' });
    }
    record.live?.close();
    record.live = null;
    record.reference = null;
    this.#sessions.delete(record.id);
  }

  /** Closes every live stream and stops the sweeper. Idempotent. */
  close(): void {
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
    for (const record of this.#sessions.values()) this.#remove(record, false);
  }
}
