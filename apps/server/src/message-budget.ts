import { LIVE_LIMITS } from '@fv/protocol';

/**
 * Messages per second a WebSocket may send, sustained: four times the top frame rate
 * (`LIVE_LIMITS.maxFps`), twice the 60 JPEG frames a second the stream's frame limit lets through
 * (past that it drops frames and warns; it does not close). A browser sends at most `maxFps`
 * frames a second (it skips a frame while the previous one still waits in the socket), a `config`
 * at most once per rendered frame (60/s) while an fps slider moves, and a few dozen ICE candidates
 * once: under 100/s together.
 */
export const DEFAULT_MESSAGES_PER_SECOND = LIVE_LIMITS.maxFps * 4;

/**
 * Messages a WebSocket may send at once after a quiet spell (the bucket starts full): two seconds
 * of the sustained rate. Covers the start of a stream (hello, config, offer and every trickled ICE
 * candidate back to back) and the frames a network stall held in the kernel's send buffer arriving
 * together (240 frames: 8 s of a 30 fps camera), while a flood is cut off after a few hundred.
 */
export const DEFAULT_MESSAGE_BURST = DEFAULT_MESSAGES_PER_SECOND * 2;

/**
 * Bytes per second a WebSocket may send, sustained: 16 MiB. A camera's JPEG frames at 320×240–
 * 640×480 are 5–60 KB, so 30 fps stays under 2 MB/s; an `enroll` image may be 8 MiB and is sent
 * once or twice. The message count alone would let a socket send 120 eight-megabyte enrolments a
 * second, each parsed as JSON; this caps what a socket can make the server read and parse.
 */
export const DEFAULT_BYTES_PER_SECOND = 16 * 1024 * 1024;

/** Bytes a WebSocket may send at once (the bucket starts full): two seconds of the sustained rate. */
export const DEFAULT_BYTE_BURST = DEFAULT_BYTES_PER_SECOND * 2;

/**
 * How long a socket closed for going over its budget has to finish the close handshake before it
 * is cut off. It is no longer read meanwhile, so what it goes on sending waits in TCP buffers.
 */
export const RATE_CLOSE_GRACE_MS = 1000;

export interface MessageBudgetOptions {
  /**
   * Messages per second the budget refills (the sustained rate).
   * @defaultValue {@link DEFAULT_MESSAGES_PER_SECOND} (120)
   */
  perSecond?: number;
  /**
   * Most messages the budget holds (the burst); it starts full.
   * @defaultValue {@link DEFAULT_MESSAGE_BURST} (240)
   */
  burst?: number;
  /**
   * Bytes per second the budget refills.
   * @defaultValue {@link DEFAULT_BYTES_PER_SECOND} (16 MiB)
   */
  bytesPerSecond?: number;
  /**
   * Most bytes the budget holds; it starts full. At least the largest message a socket accepts.
   * @defaultValue {@link DEFAULT_BYTE_BURST} (32 MiB)
   */
  byteBurst?: number;
  /** Monotonic clock, ms. @defaultValue `performance.now()` */
  now?: () => number;
}

/**
 * One socket's message budget, two token buckets: each message spends one message token and one
 * byte token per byte; tokens come back at `perSecond` / `bytesPerSecond`, up to `burst` /
 * `byteBurst`. `take()` is a clock read and a few additions, cheap enough to run before anything
 * else looks at a message.
 */
export class MessageBudget {
  readonly perSecond: number;
  readonly burst: number;
  readonly bytesPerSecond: number;
  readonly byteBurst: number;
  readonly #now: () => number;
  #tokens: number;
  #bytes: number;
  #at: number;

  constructor(options: MessageBudgetOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const {
      perSecond = DEFAULT_MESSAGES_PER_SECOND,
      burst = DEFAULT_MESSAGE_BURST,
      bytesPerSecond = DEFAULT_BYTES_PER_SECOND,
      byteBurst = DEFAULT_BYTE_BURST,
      now = () => performance.now(),
    } = options;
    if (typeof perSecond !== 'number' || !Number.isFinite(perSecond) || perSecond <= 0) {
      throw new TypeError(`perSecond must be a positive finite number, not ${String(perSecond)}`);
    }
    if (typeof burst !== 'number' || !Number.isFinite(burst) || burst < 1) {
      throw new TypeError(`burst must be a finite number of at least 1, not ${String(burst)}`);
    }
    if (typeof bytesPerSecond !== 'number' || !Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) {
      throw new TypeError(`bytesPerSecond must be a positive finite number, not ${String(bytesPerSecond)}`);
    }
    if (typeof byteBurst !== 'number' || !Number.isFinite(byteBurst) || byteBurst < 1) {
      throw new TypeError(`byteBurst must be a finite number of at least 1, not ${String(byteBurst)}`);
    }
    if (typeof now !== 'function') throw new TypeError('now must be a function');
    this.perSecond = perSecond;
    this.burst = burst;
    this.bytesPerSecond = bytesPerSecond;
    this.byteBurst = byteBurst;
    this.#now = now;
    this.#tokens = burst;
    this.#bytes = byteBurst;
    this.#at = now();
  }

  /** Spends one message of `bytes`; false (nothing spent) when either budget is exhausted. */
  take(bytes = 0): boolean {
    this.#refill();
    if (this.#tokens < 1 || this.#bytes < bytes) return false;
    this.#tokens -= 1;
    this.#bytes -= bytes;
    return true;
  }

  /** Messages that may be sent now (fractional while refilling). */
  get available(): number {
    this.#refill();
    return this.#tokens;
  }

  #refill(): void {
    const now = this.#now();
    // A clock that steps back refills nothing (and does not hold the refill back afterwards).
    if (now > this.#at) {
      const seconds = (now - this.#at) / 1000;
      this.#tokens = Math.min(this.burst, this.#tokens + seconds * this.perSecond);
      this.#bytes = Math.min(this.byteBurst, this.#bytes + seconds * this.bytesPerSecond);
    }
    this.#at = now;
  }
}
