import type { LivenessStatus, ServerMessage, StateMessage } from '@fv/protocol';
import type { FastifyBaseLogger } from 'fastify';
import { wsErrorOf } from '../errors.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { StreamSocket } from './stream-context.ts';

/**
 * What a stream connection says: protocol messages while the socket is open, `state` messages
 * (each says the analysis rate and the threshold's similarity), and failures through
 * {@link wsErrorOf} (counted; a fatal one closes the socket with its code).
 */
export class StreamReplies {
  readonly #socket: StreamSocket;
  readonly #log: FastifyBaseLogger;
  readonly #metrics: ServerMetrics;
  readonly #analysisFps: () => number;
  readonly #liveness: () => LivenessStatus;
  /** The similarity at the match threshold, told with every state (and in the welcome). */
  readonly thresholdSimilarity: number;
  // The last state said, so that a message that changes nothing is not answered again.
  #lastState = '';

  /**
   * `analysisFps`: the session's rate now (0 before it starts), told with every state, as are
   * `thresholdSimilarity` and the session's liveness status.
   */
  constructor(
    socket: StreamSocket,
    log: FastifyBaseLogger,
    metrics: ServerMetrics,
    analysisFps: () => number,
    thresholdSimilarity: number,
    liveness: () => LivenessStatus,
  ) {
    this.#socket = socket;
    this.#log = log;
    this.#metrics = metrics;
    this.#analysisFps = analysisFps;
    this.#liveness = liveness;
    this.thresholdSimilarity = thresholdSimilarity;
  }

  get open(): boolean {
    return this.#socket.readyState === this.#socket.OPEN;
  }

  send(message: ServerMessage): void {
    if (this.open) this.#socket.send(JSON.stringify(message));
  }

  /** Says the session's state; with `onlyIfChanged`, not when it is what was said last. */
  state(state: StateMessage['state'], reason?: string, onlyIfChanged = false): void {
    const message: StateMessage = {
      type: 'state',
      state,
      analysisFps: this.#analysisFps(),
      thresholdSimilarity: this.thresholdSimilarity,
      liveness: this.#liveness(),
      ...(reason && { reason }),
    };
    const text = JSON.stringify(message);
    if (onlyIfChanged && text === this.#lastState) return;
    this.#lastState = text;
    if (this.open) this.#socket.send(text);
  }

  /** Tells the client (an `error` message); a fatal failure closes the socket with its code. */
  fail(error: unknown, fatal: boolean): void {
    const { code, message, close } = wsErrorOf(error, this.#log, 'stream error');
    this.#metrics.errors.inc({ code });
    this.send({ type: 'error', code, message, fatal });
    if (fatal) this.#socket.close(close, code);
  }
}
