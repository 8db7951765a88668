import type { Redis } from 'ioredis';

export interface AttemptLimiterOptions {
  /** Failed attempts one session may make before it is ended. @defaultValue 5 */
  perSession?: number;
  /** Failed attempts one device (client address) may make per window. @defaultValue 20 */
  perDevice?: number;
  /** The device window. @defaultValue 1 h */
  windowMs?: number;
  /** Shared counters in distributed mode; without it, this process's memory. */
  redis?: Redis | null;
  /** Key prefix in Redis. @defaultValue 'fv' */
  prefix?: string;
  now?: () => number;
}

export const DEFAULT_ATTEMPT_LIMITS = { perSession: 5, perDevice: 20, windowMs: 3_600_000 } as const;

/** Local counters kept at most; the oldest windows go first (memory stays bounded). */
const MAX_LOCAL_KEYS = 100_000;

/**
 * Counts failed verification attempts (a live session's verdict turning to `not_matched`) per
 * session and per device, so that nobody can keep presenting faces until one passes: past
 * `perSession` the session ends, past `perDevice` in a window the device cannot start another.
 */
export class AttemptLimiter {
  readonly options: Readonly<Required<Omit<AttemptLimiterOptions, 'redis' | 'now'>>>;
  readonly #redis: Redis | null;
  readonly #now: () => number;
  readonly #local = new Map<string, { count: number; resetAt: number }>();

  constructor(options: AttemptLimiterOptions = {}) {
    const { redis = null, now = Date.now, ...rest } = options;
    this.options = { ...DEFAULT_ATTEMPT_LIMITS, prefix: 'fv', ...rest };
    if (!(this.options.perSession >= 1 && this.options.perDevice >= 1 && this.options.windowMs > 0)) {
      throw new TypeError('perSession, perDevice and windowMs must be positive');
    }
    this.#redis = redis;
    this.#now = now;
  }

  async #increment(key: string, windowMs: number): Promise<number> {
    if (this.#redis) {
      const full = `${this.options.prefix}:attempts:${key}`;
      const [[, count]] = (await this.#redis.multi().incr(full).pexpire(full, windowMs, 'NX').exec()) as [
        [unknown, number],
      ];
      return count;
    }
    const now = this.#now();
    let entry = this.#local.get(key);
    if (!entry || entry.resetAt <= now) {
      this.#local.delete(key);
      if (this.#local.size >= MAX_LOCAL_KEYS) this.#local.delete(this.#local.keys().next().value!);
      entry = { count: 0, resetAt: now + windowMs };
      this.#local.set(key, entry);
    }
    return ++entry.count;
  }

  async #read(key: string): Promise<number> {
    if (this.#redis) return Number((await this.#redis.get(`${this.options.prefix}:attempts:${key}`)) ?? 0);
    const entry = this.#local.get(key);
    return entry && entry.resetAt > this.#now() ? entry.count : 0;
  }

  /** Whether this device has used up its failed attempts for now. */
  async deviceBlocked(device: string): Promise<boolean> {
    return (await this.#read(`device:${device}`)) >= this.options.perDevice;
  }

  /** Records a failed attempt; says whether the session or the device is now over its limit. */
  async recordFailure(
    sessionId: string,
    device: string,
  ): Promise<{ sessionBlocked: boolean; deviceBlocked: boolean }> {
    const [session, dev] = await Promise.all([
      // A session's count lives as long as a session can.
      this.#increment(`session:${sessionId}`, 24 * 3_600_000),
      this.#increment(`device:${device}`, this.options.windowMs),
    ]);
    return {
      sessionBlocked: session >= this.options.perSession,
      deviceBlocked: dev >= this.options.perDevice,
    };
  }
}
