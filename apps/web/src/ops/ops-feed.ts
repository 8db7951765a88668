import {
  WS_CLOSE_CODES,
  OPS_LIMITS,
  parseOpsServerMessage,
  type LivenessState,
  type OpsClientMessage,
  type OpsPoint,
  type OpsSnapshotMessage,
} from '@fv/protocol';
import type { ReactiveController, ReactiveControllerHost } from 'lit';

export type OpsFeedStatus = 'connecting' | 'open' | 'reconnecting';

export interface OpsFeedOptions {
  /** Base URL of the server. @defaultValue `location.origin` */
  server?: string;
  /** Delays before reconnect attempts, the last one repeating. @defaultValue [500, 1000, 2000, 4000, 8000] */
  reconnectDelaysMs?: readonly number[];
}

export const DEFAULT_OPS_FEED_OPTIONS = {
  reconnectDelaysMs: [500, 1000, 2000, 4000, 8000],
} as const;

/** The followed session's timeline as the feed last told it, with its liveness (the marks). */
export interface OpsTimeline {
  readonly sessionId: string;
  readonly points: readonly OpsPoint[];
  readonly liveness: LivenessState;
}

/**
 * The dashboard's `WS /v1/ops` connection as a Lit reactive controller: it connects while the host
 * is connected, reconnects with backoff (and re-follows the session it followed) when the socket
 * drops, and asks the host to re-render on every message.
 */
export class OpsFeedController implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  readonly #url: string;
  readonly #delays: readonly number[];
  #socket: WebSocket | null = null;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #attempt = 0;
  #active = false;
  #following: string | null = null;

  status: OpsFeedStatus = 'connecting';
  snapshot: OpsSnapshotMessage | null = null;
  timeline: OpsTimeline | null = null;
  /** The last error the server reported (non-fatal: a bad session id, a session that ended). */
  lastError: { code: string; message: string } | null = null;

  constructor(host: ReactiveControllerHost, options: OpsFeedOptions = {}) {
    this.#host = host;
    host.addController(this);
    const server = new URL(options.server ?? location.origin);
    server.protocol = server.protocol === 'https:' ? 'wss:' : 'ws:';
    server.pathname = '/v1/ops';
    this.#url = server.href;
    this.#delays = options.reconnectDelaysMs ?? DEFAULT_OPS_FEED_OPTIONS.reconnectDelaysMs;
    if (this.#delays.length === 0) throw new TypeError('reconnectDelaysMs must not be empty');
  }

  hostConnected(): void {
    this.#active = true;
    this.#connect();
  }

  hostDisconnected(): void {
    this.#active = false;
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#retry = null;
    this.#socket?.close(WS_CLOSE_CODES.NORMAL, 'dashboard closed');
    this.#socket = null;
  }

  /** Follows one session's timeline (null stops following). */
  follow(sessionId: string | null): void {
    if (sessionId === this.#following) return;
    this.#following = sessionId;
    this.timeline = null;
    this.lastError = null;
    this.#send(sessionId ? { type: 'ops_subscribe', sessionId } : { type: 'ops_unsubscribe' });
    this.#host.requestUpdate();
  }

  #send(message: OpsClientMessage): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  #connect(): void {
    const socket = new WebSocket(this.#url);
    this.#socket = socket;
    socket.addEventListener('open', () => {
      this.#attempt = 0;
      this.status = 'open';
      if (this.#following) this.#send({ type: 'ops_subscribe', sessionId: this.#following });
      this.#host.requestUpdate();
    });
    socket.addEventListener('message', (event: MessageEvent<unknown>) => {
      if (typeof event.data === 'string') this.#handle(event.data);
    });
    socket.addEventListener('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      if (!this.#active) return;
      this.status = 'reconnecting';
      const delay = this.#delays[Math.min(this.#attempt, this.#delays.length - 1)]!;
      this.#attempt++;
      // Jitter keeps many dashboards from reconnecting in step after a server restart.
      this.#retry = setTimeout(
        () => {
          this.#retry = null;
          if (this.#active) this.#connect();
        },
        delay * (0.8 + Math.random() * 0.4),
      );
      this.#host.requestUpdate();
    });
  }

  #handle(text: string): void {
    let message;
    try {
      message = parseOpsServerMessage(text);
    } catch (error) {
      // A message this dashboard does not understand (a newer server): skip it, keep the feed.
      console.warn('ops: ignored a message', error);
      return;
    }
    switch (message.type) {
      case 'ops_snapshot':
        this.snapshot = message;
        break;
      case 'ops_session_detail':
        if (message.sessionId === this.#following) {
          this.timeline = {
            sessionId: message.sessionId,
            points: message.timeline,
            liveness: message.liveness,
          };
        }
        break;
      case 'ops_session_points':
        if (message.sessionId === this.#following && this.timeline) {
          const points = [...this.timeline.points, ...message.points];
          this.timeline = {
            sessionId: message.sessionId,
            points: points.slice(-OPS_LIMITS.timelinePoints),
            liveness: message.liveness,
          };
        }
        break;
      case 'error':
        this.lastError = { code: message.code, message: message.message };
        break;
    }
    this.#host.requestUpdate();
  }
}
