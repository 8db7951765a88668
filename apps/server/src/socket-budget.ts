import type { WebSocket } from 'ws';
import { MessageBudget, RATE_CLOSE_GRACE_MS, type MessageBudgetOptions } from './message-budget.ts';

/**
 * A socket's {@link MessageBudget} applied, the same way on every WebSocket route: each message is
 * admitted before anything parses it. The first past the budget runs `onExceeded` (the route says
 * MESSAGE_RATE_EXCEEDED, closes with 4429 and counts it); then the socket is no longer read, so
 * what it goes on sending waits in TCP buffers rather than here, and a client that does not finish
 * the close handshake is cut off after {@link RATE_CLOSE_GRACE_MS}. `close()` is idempotent.
 */
export class SocketBudget {
  readonly #budget: MessageBudget;
  readonly #socket: Pick<WebSocket, 'pause' | 'terminate'>;
  readonly #onExceeded: () => void;
  #over = false;
  #closed = false;
  #grace: ReturnType<typeof setTimeout> | null = null;

  constructor(
    socket: Pick<WebSocket, 'pause' | 'terminate'>,
    options: MessageBudgetOptions,
    onExceeded: () => void,
  ) {
    this.#budget = new MessageBudget(options);
    this.#socket = socket;
    this.#onExceeded = onExceeded;
  }

  /**
   * Whether a message of `bytes` may be handled. False for the one that goes over and for every
   * later one (those already buffered when the socket went over are dropped unparsed).
   */
  admit(bytes: number): boolean {
    if (this.#over) return false;
    if (this.#budget.take(bytes)) return true;
    this.#over = true;
    this.#onExceeded();
    this.#socket.pause();
    if (!this.#closed) this.#grace = setTimeout(() => this.#socket.terminate(), RATE_CLOSE_GRACE_MS);
    return false;
  }

  /** The socket closed: the grace timer goes. */
  close(): void {
    this.#closed = true;
    if (this.#grace) clearTimeout(this.#grace);
    this.#grace = null;
  }
}
