import { VerificationError } from '@fv/core';
import type { ScoreMessage } from '@fv/protocol';
import { InMemorySessionStore, type SessionStoreOptions } from '../live/in-memory-session-store.ts';
import type { CreatedSession, NewSession, SessionEndReason, SessionRecord } from '../live/session-store.ts';
import type { RedisSessionMirror } from './session-mirror.ts';

/** A stream shares its session's result at most this often, and at once when the verdict changes. */
export const SHARE_INTERVAL_MS = 1000;

/**
 * The distributed mode's session store: sessions live in Redis (`RedisSessionMirror`), so one
 * created on any gateway streams on any other and reads back anywhere; each gateway keeps the
 * sessions it streams in its local store (their live state, the in-memory base class). Tenants'
 * concurrency is counted and tokens are spent in Redis, cluster-wide.
 */
export class RedisSessionStore extends InMemorySessionStore {
  readonly #mirror: RedisSessionMirror;
  /** What each record's stream shared last (reset by each claim: a new stream shares at once). */
  readonly #shared = new WeakMap<SessionRecord, { verdict: string; at: number }>();

  /** `mirror`: the Redis side; its owner closes it, after this store. */
  constructor(mirror: RedisSessionMirror, options: SessionStoreOptions = {}) {
    super(options);
    this.#mirror = mirror;
  }

  override async create(session: NewSession): Promise<CreatedSession> {
    const created = this.insert(session);
    const record = this.get(created.sessionId);
    const admitted = await this.#mirror.admitSession(
      session.tenantId,
      record.id,
      record.expiresAt,
      session.maxConcurrent,
    );
    if (!admitted) {
      this.discard(record.id);
      throw new VerificationError('TOO_MANY_SESSIONS');
    }
    await this.#mirror.saveState(record);
    return created;
  }

  /**
   * The gateway that streams the session writes its results to Redis, so any gateway answers with
   * the shared state; a live stream here is fresher still.
   */
  override async find(id: string): Promise<Readonly<SessionRecord> | null> {
    const local = await super.find(id);
    if (local?.live) return local;
    const shared = await this.#mirror.load(id);
    return shared ? { ...shared, live: null } : local;
  }

  /** Takes in a session created on another gateway before streaming it here. */
  override async open(id: string): Promise<SessionRecord> {
    if (!this.has(id)) {
      const shared = await this.#mirror.load(id);
      if (shared) this.adopt(shared);
    }
    return super.open(id);
  }

  /** One use cluster-wide, not one per gateway: Redis swaps the hash atomically. */
  protected override async swapToken(
    record: SessionRecord,
    presented: Buffer,
    next: Buffer,
    now: number,
    nextExpiry: number,
  ): Promise<'ok' | 'invalid' | 'expired'> {
    const result = await this.#mirror.swapToken(record.id, presented, next, now, nextExpiry);
    if (result === 'ok') this.#shared.delete(record);
    return result;
  }

  /** Shares the result at most once a second, and at once when the verdict changes. */
  override async recordScore(record: SessionRecord, score: ScoreMessage): Promise<void> {
    await super.recordScore(record, score);
    const last = this.#shared.get(record) ?? { verdict: '', at: 0 };
    if (score.verdict === last.verdict && score.emittedAt - last.at < SHARE_INTERVAL_MS) return;
    this.#shared.set(record, { verdict: score.verdict, at: score.emittedAt });
    await this.#mirror.saveState(record);
  }

  /** Frees the session's slot in its tenant's count and marks it ended for every gateway. */
  override publishEnd(record: SessionRecord, reason: SessionEndReason): Promise<void> {
    return this.#mirror.endSession(record, reason);
  }

  override claimWebhook(id: string, ttlMs: number): Promise<boolean> {
    return this.#mirror.claimWebhook(id, ttlMs);
  }
}
