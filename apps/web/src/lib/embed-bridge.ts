import {
  EMBED_SOURCE,
  EMBED_VERSION,
  isEmbedStop,
  type ChallengeMessage,
  type Decision,
  type EmbedMessage,
  type LivenessState,
  type ScoreMessage,
  type Transport,
  type Verdict,
} from '@fv/protocol';

/**
 * The embed page's side of the iframe contract: which messages it posts to the host page, to
 * which origins, and which host messages it accepts. Pure logic (no `window`), so it is unit
 * tested with a fake target; `pages/embed.ts` wires it to the real window and `<fv-verify>`.
 *
 * The messages are `EmbedMessage` of @fv/protocol (`embed.ts`: one schema per `type`, and
 * `parseEmbedMessage` for host pages): `{ source: 'fv-embed', version: 2, type, sessionId, ... }`
 * with `type` one of `ready`, `started`, `score`, `verdict`, `challenge`, `liveness`, `error`,
 * `finished`. No token and no
 * image ever goes into a message. Messages are UX hints only: the host's backend reads the
 * authoritative result with `GET /v1/sessions/:id`.
 */

/** At most one `score` message per this many milliseconds (2 per second). */
export const DEFAULT_SCORE_INTERVAL_MS = 500;

type Envelope = Pick<EmbedMessage, 'source' | 'version' | 'sessionId'>;

/** Where messages go: `window.parent` in the page, a fake in tests. */
export interface PostTarget {
  postMessage(message: unknown, targetOrigin: string): void;
}

/** What the page learns from the server-injected `<script type="application/json" id="fv-embed-config">`. */
export interface EmbedConfig {
  allowedOrigins: string[];
}

/**
 * A concrete `http(s)://host[:port]` origin in canonical form, or null. Wildcards (`*`), the
 * opaque `null` origin, paths and other schemes are refused: a message must never go to "anyone".
 */
export function canonicalOrigin(value: unknown): string | null {
  if (typeof value !== 'string' || value === '*' || value === 'null') return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  return url.origin === value.replace(/\/$/, '') ? url.origin : null;
}

/** Parses the injected config; anything missing or malformed yields no origins (post nothing). */
export function parseEmbedConfig(text: string | null | undefined): EmbedConfig {
  if (!text) return { allowedOrigins: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { allowedOrigins: [] };
  }
  const list =
    typeof raw === 'object' &&
    raw !== null &&
    Array.isArray((raw as { allowedOrigins?: unknown }).allowedOrigins)
      ? ((raw as { allowedOrigins: unknown[] }).allowedOrigins as unknown[])
      : [];
  const origins: string[] = [];
  for (const item of list) {
    const origin = canonicalOrigin(item);
    if (origin && !origins.includes(origin)) origins.push(origin);
  }
  return { allowedOrigins: origins };
}

export interface EmbedBridgeOptions {
  /** `window.parent` when framed; null when the page is not in a frame (then nothing is posted). */
  target: PostTarget | null;
  /** The session's allowed origins; empty means post nothing. Non-concrete origins are dropped. */
  allowedOrigins: readonly string[];
  sessionId: string;
  /** @defaultValue {@link DEFAULT_SCORE_INTERVAL_MS} */
  scoreIntervalMs?: number;
}

/** An incoming `message` event, reduced to what the bridge checks. */
export interface IncomingMessage {
  origin: string;
  data: unknown;
  /** The posting window, when known: it must be the parent the bridge posts to. */
  source?: unknown;
}

/**
 * Posts the embed's messages to each allowed origin of the parent window (never `*`), throttles
 * `score` messages (the latest one within a window is delivered at its end, so the host always
 * ends up with the newest value), sends `verdict` only on change and `ready` once, relays every
 * liveness `challenge` and `liveness` change as it comes, and accepts a
 * host `stop` only from an allowed origin.
 */
export class EmbedBridge {
  readonly allowedOrigins: readonly string[];
  readonly sessionId: string;
  readonly #target: PostTarget | null;
  readonly #scoreIntervalMs: number;
  #readySent = false;
  #lastVerdict: Verdict | null = null;
  #lastScoreAt = Number.NEGATIVE_INFINITY;
  #pendingScore: EmbedMessage | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  constructor(options: EmbedBridgeOptions) {
    const interval = options.scoreIntervalMs ?? DEFAULT_SCORE_INTERVAL_MS;
    if (!Number.isFinite(interval) || interval < 0) {
      throw new TypeError(`scoreIntervalMs must be a non-negative number (got ${interval})`);
    }
    this.#target = options.target;
    this.#scoreIntervalMs = interval;
    this.sessionId = options.sessionId;
    const origins: string[] = [];
    for (const value of options.allowedOrigins) {
      const origin = canonicalOrigin(value);
      if (origin && !origins.includes(origin)) origins.push(origin);
    }
    this.allowedOrigins = origins;
  }

  /** Whether anything can be posted at all (framed, with at least one allowed origin). */
  get active(): boolean {
    return this.#target !== null && this.allowedOrigins.length > 0 && !this.#closed;
  }

  ready(): void {
    if (this.#readySent) return;
    this.#readySent = true;
    this.#post({ ...this.#envelope(), type: 'ready' });
  }

  started(transport: Transport): void {
    this.#post({ ...this.#envelope(), type: 'started', transport });
  }

  /** A live score; throttled to one message per `scoreIntervalMs`, trailing value kept. */
  score(score: Pick<ScoreMessage, 'distance' | 'smoothedDistance' | 'similarity' | 'verdict'>): void {
    const message: EmbedMessage = {
      ...this.#envelope(),
      type: 'score',
      // The verdict is decided on the smoothed distance; the raw one is the fallback.
      distance: score.smoothedDistance ?? score.distance,
      similarity: score.similarity,
      verdict: score.verdict,
    };
    const now = Date.now();
    const wait = this.#lastScoreAt + this.#scoreIntervalMs - now;
    if (wait <= 0 && this.#timer === null) {
      this.#lastScoreAt = now;
      this.#post(message);
      return;
    }
    this.#pendingScore = message;
    this.#timer ??= setTimeout(() => this.#flushScore(), Math.max(0, wait));
  }

  /** Posts a `verdict` message when the verdict differs from the last one posted. */
  verdict(verdict: Verdict, distance: number | null, similarity: number | null): void {
    if (verdict === this.#lastVerdict) return;
    this.#lastVerdict = verdict;
    this.#post({ ...this.#envelope(), type: 'verdict', verdict, distance, similarity });
  }

  /** A liveness challenge was asked (the server's clock `deadline` stays inside the widget). */
  challenge(challenge: Pick<ChallengeMessage, 'index' | 'count' | 'action' | 'windowMs'>): void {
    const { index, count, action, windowMs } = challenge;
    this.#post({ ...this.#envelope(), type: 'challenge', index, count, action, windowMs });
  }

  /** Liveness changed (a sequence drawn, a challenge decided), with the decision so far. */
  liveness(liveness: LivenessState, decision: Decision): void {
    this.#post({ ...this.#envelope(), type: 'liveness', liveness, decision });
  }

  error(code: string, message: string, fatal: boolean): void {
    this.#post({ ...this.#envelope(), type: 'error', code, message, fatal });
  }

  /** The session ended: drops any held score (the final values travel here) and posts `finished`. */
  finished(verdict: Verdict, distance: number | null, decision: Decision, reason: string): void {
    this.#cancelScore();
    this.#post({ ...this.#envelope(), type: 'finished', verdict, distance, decision, reason });
  }

  /**
   * Checks a `message` event from outside. Returns `'stop'` only for `{source: 'fv-host', type: 'stop'}`
   * from an allowed origin (and from the parent window when the source is known); null otherwise.
   */
  handleIncoming(event: IncomingMessage): 'stop' | null {
    if (!this.allowedOrigins.includes(event.origin)) return null;
    if (event.source !== undefined && (this.#target === null || event.source !== this.#target)) return null;
    return isEmbedStop(event.data) ? 'stop' : null;
  }

  /** Stops posting and clears the throttle timer; idempotent. */
  close(): void {
    this.#cancelScore();
    this.#closed = true;
  }

  #envelope(): Envelope {
    return { source: EMBED_SOURCE, version: EMBED_VERSION, sessionId: this.sessionId };
  }

  #flushScore(): void {
    this.#timer = null;
    const pending = this.#pendingScore;
    this.#pendingScore = null;
    if (!pending) return;
    this.#lastScoreAt = Date.now();
    this.#post(pending);
  }

  #cancelScore(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#pendingScore = null;
  }

  #post(message: EmbedMessage): void {
    if (!this.active) return;
    // One postMessage per origin: the browser delivers each only if the parent is at that origin.
    for (const origin of this.allowedOrigins) this.#target!.postMessage(message, origin);
  }
}
