import type { ReactiveController, ReactiveControllerHost } from 'lit';
import {
  LiveConnection,
  type ConnectionStatus,
  type LiveConnectionEvents,
  type LiveError,
  type Transport,
  type WelcomeMessage,
} from '../lib/live-connection.ts';

/** What the host hears from the connection beyond the reactive fields. */
export interface ConnectionControllerCallbacks {
  /** Each welcome (the first, and one after every reconnect). */
  onWelcome?(welcome: WelcomeMessage): void;
  /** The first score after streaming (re)started. */
  onMedia?(detail: { sessionId: string; transport: Transport }): void;
  onScore?(detail: LiveConnectionEvents['score']): void;
  /** The server's view of the stream (each `state`). */
  onState?(state: LiveConnectionEvents['state']): void;
  /** A liveness challenge was asked. */
  onChallenge?(challenge: LiveConnectionEvents['challenge']): void;
  /** Liveness changed. */
  onLiveness?(message: LiveConnectionEvents['liveness']): void;
  onError?(error: LiveError): void;
  /** The connection ended by itself (a fatal error, or reconnecting gave up); not after {@link ConnectionController.close}. */
  onEnded?(detail: { code: string }): void;
}

export interface ConnectionOpenOptions {
  /** The session's token (used unless this session already got a resume token). */
  token: string;
  server?: string;
  fps: number;
}

/**
 * Wires a {@link LiveConnection} to a Lit host: its status, the session's enrolment, the stream's
 * transport and health become reactive fields (each change asks the host to update), and the
 * connection is closed when the host leaves the document. It keeps the session's latest resume
 * token, so a new connection (after `close()` or a failure) resumes the same session.
 */
export class ConnectionController implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  readonly #callbacks: ConnectionControllerCallbacks;
  #connection: LiveConnection | null = null;
  /** The token the next connection presents (the latest resumeToken); null: the host's token. */
  #nextToken: string | null = null;
  #stopListening: (() => void) | null = null;

  status: ConnectionStatus | 'none' = 'none';
  attempt = 0;
  /** Whether the session has a reference; null until the first welcome. */
  enrolled: boolean | null = null;
  /**
   * Where the match threshold sits on the similarity scale (0–1), as the server says it in each
   * welcome and state; null until the first welcome.
   */
  thresholdSimilarity: number | null = null;
  /** Scores arrive for the current stream. */
  flowing = false;
  degraded = false;
  analysisFps = 0;
  transport: Transport | null = null;

  constructor(host: ReactiveControllerHost, callbacks: ConnectionControllerCallbacks = {}) {
    this.#host = host;
    this.#callbacks = callbacks;
    host.addController(this);
  }

  /** The live connection, or null when there is none (never one that has closed). */
  get connection(): LiveConnection | null {
    return this.#connection;
  }

  hostDisconnected(): void {
    this.close();
  }

  /**
   * Opens a connection for the session (closing the current one) and starts connecting. Aborting
   * `signal` closes it, as {@link close} does. Throws a `TypeError` for a malformed token.
   */
  open(options: ConnectionOpenOptions, signal: AbortSignal): LiveConnection {
    this.close();
    const connection = new LiveConnection({
      token: this.#nextToken ?? options.token,
      server: options.server,
      fps: options.fps,
    });
    this.#connection = connection;
    this.#wire(connection);
    const onAbort = (): void => {
      if (this.#connection === connection) this.close();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    this.#stopListening = () => signal.removeEventListener('abort', onAbort);
    connection.connect().catch(() => undefined);
    return connection;
  }

  /** Says bye and closes the connection; keeps the resume token. Idempotent. */
  close(): void {
    const connection = this.#connection;
    if (!connection) return;
    this.#forget(connection);
    connection.close();
    this.status = 'closed';
    this.flowing = false;
    this.degraded = false;
    this.transport = null;
    this.#host.requestUpdate();
  }

  /** A new session: forgets the resume token and what the last session said about itself. */
  reset(): void {
    this.close();
    this.#nextToken = null;
    this.enrolled = null;
    this.thresholdSimilarity = null;
    this.#host.requestUpdate();
  }

  /** The session took a reference (an enrolment succeeded, or a verdict came). */
  markEnrolled(): void {
    this.enrolled = true;
    this.#host.requestUpdate();
  }

  /** Changes the analysis rate of the live connection, if any. */
  setFps(fps: number): void {
    this.#connection?.setFps(fps);
  }

  /** No more events from `connection` reach the host (it is closing or closed). */
  #forget(connection: LiveConnection): void {
    this.#nextToken = connection.token;
    this.#connection = null;
    this.#stopListening?.();
    this.#stopListening = null;
  }

  #wire(connection: LiveConnection): void {
    const on = <K extends keyof LiveConnectionEvents>(
      type: K,
      listener: (detail: LiveConnectionEvents[K]) => void,
    ): void => {
      connection.on(type, (detail) => {
        if (connection !== this.#connection) return;
        listener(detail);
        this.#host.requestUpdate();
      });
    };
    on('status', ({ status, attempt }) => {
      this.status = status;
      this.attempt = attempt;
      if (status === 'reconnecting') this.flowing = false;
    });
    on('welcome', (welcome) => {
      this.#nextToken = welcome.resumeToken;
      this.enrolled = welcome.enrolled;
      this.thresholdSimilarity = welcome.thresholdSimilarity;
      this.#callbacks.onWelcome?.(welcome);
    });
    on('transport', ({ transport }) => {
      this.transport = transport;
      this.flowing = false;
    });
    on('media', ({ transport }) => {
      this.flowing = true;
      this.#callbacks.onMedia?.({ sessionId: connection.sessionId, transport });
    });
    on('state', (message) => {
      this.degraded = message.state === 'degraded' || (this.degraded && message.state !== 'streaming');
      if (message.analysisFps > 0) this.analysisFps = message.analysisFps;
      this.thresholdSimilarity = message.thresholdSimilarity;
      this.#callbacks.onState?.(message);
    });
    // Whichever request it answers (even one superseded here), the session has a reference now.
    on('enrolled', () => {
      this.enrolled = true;
    });
    on('score', (detail) => this.#callbacks.onScore?.(detail));
    on('challenge', (detail) => this.#callbacks.onChallenge?.(detail));
    on('liveness', (detail) => this.#callbacks.onLiveness?.(detail));
    on('error', (error) => this.#callbacks.onError?.(error));
    on('closed', ({ code }) => {
      this.#forget(connection);
      this.status = 'closed';
      if (code === null) return;
      this.flowing = false;
      this.transport = null;
      this.#callbacks.onEnded?.({ code });
    });
  }
}
