import { createHmac, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { VerificationError } from '@fv/core';
import {
  WEBHOOK_HEADERS,
  parseWebhookEvent,
  type SessionFinishedEvent,
  type WebhookEvent,
} from '@fv/protocol';

// The payload is `SessionFinishedEvent` in @fv/protocol (webhook.ts): the sender builds one, the
// reference receiver parses the body with it.
export type { SessionFinishedEvent };

export interface WebhookSenderOptions {
  /** Attempts per event, the first included. @defaultValue 6 */
  maxAttempts?: number;
  /** Delay before the first retry; doubles each time (with ±20% jitter). @defaultValue 1000 ms */
  baseDelayMs?: number;
  /** Longest wait between attempts. @defaultValue 60 000 ms */
  maxDelayMs?: number;
  /** Per-attempt timeout. @defaultValue 5000 ms */
  timeoutMs?: number;
  /** Events waiting for delivery at most; past it the oldest is dropped (and reported). @defaultValue 10 000 */
  maxPending?: number;
  now?: () => number;
}

export const DEFAULT_WEBHOOK_OPTIONS = {
  maxAttempts: 6,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  timeoutMs: 5000,
  maxPending: 10_000,
} as const;

/** `v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`, the value of `x-fv-signature`. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver does first: recompute the signature over the raw body and the timestamp header,
 * compare in constant time, and refuse stale timestamps (replays).
 */
export function verifyWebhook(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  body: string,
  { toleranceSeconds = 300, now = Date.now() }: { toleranceSeconds?: number; now?: number } = {},
): boolean {
  const timestamp = Number(headers.timestamp);
  if (!Number.isInteger(timestamp) || Math.abs(now / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(headers.signature ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The reference receiver: verifies the signature ({@link verifyWebhook}), and only then parses the
 * body (`parseWebhookEvent`). Throws `UNAUTHORIZED` for a bad signature or a stale timestamp, and
 * `ProtocolError` (`BAD_MESSAGE`) for a signed body that is no event.
 */
export function receiveWebhook(
  secret: string,
  headers: { timestamp: string | undefined; signature: string | undefined },
  body: string,
  options: { toleranceSeconds?: number; now?: number } = {},
): WebhookEvent {
  if (!verifyWebhook(secret, headers, body, options)) {
    throw new VerificationError('UNAUTHORIZED', 'The webhook signature or its timestamp is not valid.');
  }
  return parseWebhookEvent(body);
}

interface Pending {
  url: string;
  secret: string;
  event: SessionFinishedEvent;
  attempt: number;
}

export interface WebhookSenderEvents {
  delivered: [{ event: SessionFinishedEvent; attempts: number }];
  failed: [{ event: SessionFinishedEvent; attempts: number; reason: string }];
}

/**
 * Delivers signed `session.finished` webhooks with retries and exponential backoff. Delivery is
 * at least once (receivers de-duplicate on `id`); a 2xx answer ends it, anything else retries until
 * `maxAttempts`. Bounded: at most `maxPending` events wait; `close()` abandons what is left.
 *
 * @fires delivered / failed
 */
export class WebhookSender extends EventEmitter<WebhookSenderEvents> {
  readonly options: Readonly<Required<Omit<WebhookSenderOptions, 'now'>>>;
  readonly #now: () => number;
  readonly #pending = new Set<Pending>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #inFlight = new Set<AbortController>();
  #closed = false;

  constructor(options: WebhookSenderOptions = {}) {
    super();
    const { now, ...rest } = options;
    this.options = { ...DEFAULT_WEBHOOK_OPTIONS, ...rest };
    if (!(this.options.maxAttempts >= 1 && this.options.maxPending >= 1 && this.options.timeoutMs > 0)) {
      throw new TypeError('maxAttempts, maxPending and timeoutMs must be positive');
    }
    this.#now = now ?? Date.now;
  }

  get pending(): number {
    return this.#pending.size;
  }

  send(url: string, secret: string, event: SessionFinishedEvent): void {
    if (this.#closed) return;
    if (this.#pending.size >= this.options.maxPending) {
      const oldest = this.#pending.values().next().value!;
      this.#pending.delete(oldest);
      this.emit('failed', {
        event: oldest.event,
        attempts: oldest.attempt,
        reason: 'dropped: too many pending',
      });
    }
    const job: Pending = { url, secret, event, attempt: 0 };
    this.#pending.add(job);
    void this.#attempt(job);
  }

  async #attempt(job: Pending): Promise<void> {
    if (this.#closed || !this.#pending.has(job)) return;
    job.attempt++;
    const body = JSON.stringify(job.event);
    const timestamp = Math.floor(this.#now() / 1000);
    const controller = new AbortController();
    this.#inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(), this.options.timeoutMs);
    let reason: string;
    try {
      const response = await fetch(job.url, {
        method: 'POST',
        body,
        redirect: 'manual',
        signal: controller.signal,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'fv-webhook/1',
          [WEBHOOK_HEADERS.event]: job.event.type,
          [WEBHOOK_HEADERS.delivery]: job.event.id,
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
          [WEBHOOK_HEADERS.signature]: signWebhook(job.secret, timestamp, body),
        },
      });
      await response.body?.cancel();
      if (response.ok) {
        this.#pending.delete(job);
        this.emit('delivered', { event: job.event, attempts: job.attempt });
        return;
      }
      reason = `HTTP ${response.status}`;
    } catch (error) {
      reason = controller.signal.aborted ? 'timeout' : (error as Error).message;
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(controller);
    }
    if (this.#closed) return;
    if (job.attempt >= this.options.maxAttempts) {
      this.#pending.delete(job);
      this.emit('failed', { event: job.event, attempts: job.attempt, reason });
      return;
    }
    const backoff = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (job.attempt - 1));
    const delay = backoff * (0.8 + Math.random() * 0.4);
    const retry = setTimeout(() => {
      this.#timers.delete(retry);
      void this.#attempt(job);
    }, delay);
    retry.unref();
    this.#timers.add(retry);
  }

  /** Stops retrying and aborts requests in flight. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const controller of this.#inFlight) controller.abort();
    this.#pending.clear();
  }
}
