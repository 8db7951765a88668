import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { Decision, LivenessPolicy, LivenessState, ScoreMessage } from '@fv/protocol';
import type { LiveSession } from './live-session.ts';

/** Why a session ended: the client said `bye`, the tenant or a limit ended it, or its time ran out. */
export type SessionEndReason = 'bye' | 'expired' | 'too_many_attempts';

/** A session as this gateway holds it: what every gateway shares, and its live stream here. */
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
  /**
   * The reference embedding (never an image), or null until the stream enrols one. The record is
   * its one owner: the live session reads it from here for every frame and enrols into it.
   */
  reference: Float32Array | null;
  /** The stream feeding the session on this gateway, if any. */
  live: LiveSession | null;
  lastScore: ScoreMessage | null;
  framesAnalysed: number;
  /** How the session proves a live person (the tenant's choice at creation). */
  readonly livenessPolicy: LivenessPolicy;
  /** Its liveness so far: the live session writes it as challenges are drawn and decided. */
  liveness: LivenessState;
  /** `verified` only when the face matched and liveness passed (or is off); see liveness-check.ts. */
  decision: Decision;
}

/** What another gateway needs to serve a session: the record without its local stream. */
export type SessionData = Omit<SessionRecord, 'live'>;

/** A session to create (`POST /v1/sessions`). */
export interface NewSession {
  /** The mean embedding of the reference images, or null for the stream to enrol one. */
  reference: Float32Array | null;
  /** @defaultValue the store's `defaultTtlSeconds` */
  ttlSeconds?: number;
  allowedOrigins: readonly string[];
  tenantId: string;
  /** The tenant's limit on sessions that have not ended or expired; one more is TOO_MANY_SESSIONS. */
  maxConcurrent: number;
  liveness: LivenessPolicy;
}

export interface CreatedSession {
  sessionId: string;
  /** The single-use browser token for the stream's hello. */
  token: string;
  expiresAt: string;
}

export interface SessionStoreEvents {
  /** A session ended: by `end()` (bye, a limit) or by expiring. Fired once per session here. */
  ended: [{ record: SessionRecord; reason: SessionEndReason }];
}

/**
 * Where sessions live, in either mode: `InMemorySessionStore` (one gateway) or `RedisSessionStore`
 * (gateways share sessions through Redis, each keeping its live ones locally). Chosen once at
 * start-up (services.ts); the routes never ask which.
 */
export interface SessionStore extends EventEmitter<SessionStoreEvents> {
  /** Creates a session: TOO_MANY_SESSIONS past the tenant's limit, QUEUE_FULL past the store's. */
  create(session: NewSession): Promise<CreatedSession>;
  /**
   * The freshest copy of a session for reading its result (a live stream here, else the shared
   * state), or null when none is known; SESSION_EXPIRED for one that expired here.
   */
  find(id: string): Promise<Readonly<SessionRecord> | null>;
  /** The session for a stream to start on this gateway: NOT_FOUND or SESSION_EXPIRED otherwise. */
  open(id: string): Promise<SessionRecord>;
  /**
   * Spends the session's current single-use stream token (once across gateways) and issues the
   * next one, which the client keeps to resume after a dropped connection. A wrong or already
   * spent token is UNAUTHORIZED, a late one TOKEN_EXPIRED, an ended session SESSION_EXPIRED.
   */
  claim(id: string, token: string): Promise<{ record: SessionRecord; resumeToken: string }>;
  /** Records a live score on the session (and shares it, when sessions are shared). */
  recordScore(record: SessionRecord, score: ScoreMessage): Promise<void>;
  /** Ends a session before its expiry: its stream closes and no token starts one again. */
  end(id: string, reason: Exclude<SessionEndReason, 'expired'>): void;
  /** A session held here, or NOT_FOUND / SESSION_EXPIRED. */
  get(id: string): SessionRecord;
  /** Sessions held here, newest first (the operator dashboard). */
  list(): SessionRecord[];
  /** Records an ending where every gateway sees it (and frees the tenant's slot). */
  publishEnd(record: SessionRecord, reason: SessionEndReason): Promise<void>;
  /** True for exactly one caller per session across gateways: who tells the tenant it ended. */
  claimWebhook(id: string, ttlMs: number): Promise<boolean>;
  /** Closes every live stream held here and stops the sweeper. Idempotent. */
  close(): void;
}

export const hashToken = (token: string): Buffer => createHash('sha256').update(token).digest();
