import { randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { VerificationError } from '@fv/core';
import type { ScoreMessage } from '@fv/protocol';
import { initialLiveness } from './liveness-check.ts';
import {
  hashToken,
  type CreatedSession,
  type NewSession,
  type SessionData,
  type SessionEndReason,
  type SessionRecord,
  type SessionStore,
  type SessionStoreEvents,
} from './session-store.ts';

export interface SessionStoreOptions {
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

export const DEFAULT_SESSION_STORE_OPTIONS = {
  defaultTtlSeconds: 600,
  maxTtlSeconds: 3600,
  maxSessions: 10_000,
  sweepIntervalMs: 5000,
  tokenTtlSeconds: 180,
} as const;

/** A stream token: `<session id>.<secret>`, so the embed page can name its session from it alone. */
const newToken = (id: string): string => `${id}.${randomBytes(24).toString('base64url')}`;

/**
 * The embedded mode's session store, and each gateway's local one in distributed mode (see
 * `RedisSessionStore`): ids, single-use stream tokens (only their hashes are kept), reference
 * embeddings (never images), latest results, and expiry.
 *
 * @fires ended
 */
export class InMemorySessionStore extends EventEmitter<SessionStoreEvents> implements SessionStore {
  readonly options: Readonly<Required<Omit<SessionStoreOptions, 'now'>>>;
  readonly #sessions = new Map<string, SessionRecord>();
  readonly #now: () => number;
  #sweeper: ReturnType<typeof setInterval> | null;

  constructor(options: SessionStoreOptions = {}) {
    super();
    const { now, ...rest } = options;
    this.options = { ...DEFAULT_SESSION_STORE_OPTIONS, ...rest };
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

  async create(session: NewSession): Promise<CreatedSession> {
    if (this.activeFor(session.tenantId) >= session.maxConcurrent) {
      throw new VerificationError('TOO_MANY_SESSIONS');
    }
    return this.insert(session);
  }

  /** Creates the session here, whatever its tenant's count (a shared store counts it there). */
  protected insert({
    reference,
    ttlSeconds = this.options.defaultTtlSeconds,
    allowedOrigins,
    tenantId,
    liveness,
  }: NewSession): CreatedSession {
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
      livenessPolicy: liveness,
      liveness: initialLiveness(liveness),
      decision: 'pending',
    };
    this.#sessions.set(id, record);
    return { sessionId: id, token, expiresAt: new Date(record.expiresAt).toISOString() };
  }

  async find(id: string): Promise<Readonly<SessionRecord> | null> {
    return this.#sessions.has(id) ? this.get(id) : null;
  }

  async open(id: string): Promise<SessionRecord> {
    return this.get(id);
  }

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
  protected adopt(session: SessionData): SessionRecord {
    const existing = this.#sessions.get(session.id);
    if (existing) return existing;
    const record: SessionRecord = { ...session, live: null };
    this.#sessions.set(record.id, record);
    return record;
  }

  async claim(id: string, token: string): Promise<{ record: SessionRecord; resumeToken: string }> {
    const record = this.get(id);
    if (record.endedBy)
      throw new VerificationError('SESSION_EXPIRED', `The session has ended (${record.endedBy}).`);
    const presented = hashToken(token);
    const resumeToken = newToken(id);
    const next = hashToken(resumeToken);
    const now = this.#now();
    const nextExpiry = Math.min(record.expiresAt, now + this.options.tokenTtlSeconds * 1000);
    const result = await this.swapToken(record, presented, next, now, nextExpiry);
    if (result === 'expired') throw new VerificationError('TOKEN_EXPIRED');
    if (result !== 'ok') throw new VerificationError('UNAUTHORIZED');
    record.tokenHash = next;
    record.tokenExpiresAt = nextExpiry;
    record.tokenUsed = true;
    return { record, resumeToken };
  }

  /**
   * Swaps the token hash from `presented` to `next` (valid until `nextExpiry`) in one step:
   * `invalid` when `presented` is not the current token, `expired` when it is but its time is up.
   * Here the check and the swap happen on one turn, so two hellos cannot both spend a token.
   */
  protected async swapToken(
    record: SessionRecord,
    presented: Buffer,
    next: Buffer,
    now: number,
    nextExpiry: number,
  ): Promise<'ok' | 'invalid' | 'expired'> {
    if (!timingSafeEqual(presented, record.tokenHash)) return 'invalid';
    // Only the holder of the current token learns that it expired.
    if (now > record.tokenExpiresAt) return 'expired';
    record.tokenHash = next;
    record.tokenExpiresAt = nextExpiry;
    return 'ok';
  }

  async recordScore(record: SessionRecord, score: ScoreMessage): Promise<void> {
    record.lastScore = score;
    record.framesAnalysed++;
  }

  end(id: string, reason: Exclude<SessionEndReason, 'expired'>): void {
    const record = this.#sessions.get(id);
    if (!record || record.endedBy) return;
    record.endedBy = reason;
    this.emit('ended', { record, reason });
  }

  /** Nothing to share: this gateway is the only one. */
  async publishEnd(_record: SessionRecord, _reason: SessionEndReason): Promise<void> {}

  /** This gateway is the only one to tell the tenant. */
  async claimWebhook(_id: string, _ttlMs: number): Promise<boolean> {
    return true;
  }

  /** Forgets a session that was never handed out (a limit refused it after creation). */
  protected discard(id: string): void {
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

  close(): void {
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
    for (const record of this.#sessions.values()) this.#remove(record, false);
  }
}
