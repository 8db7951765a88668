import {
  LIVE_LIMITS,
  PROTOCOL_VERSION,
  WS_CLOSE_CODES,
  parseServerMessage,
  sessionIdOfToken,
  wsCloseCodeOf,
  type ChallengeMessage,
  type ClientMessage,
  type EnrolledMessage,
  type EnrolmentSource,
  type ErrorCode,
  type LivenessMessage,
  type ScoreMessage,
  type ServerMessage,
  type StateMessage,
} from '@fv/protocol';
import { EnrolmentMatcher } from './enrolment-matcher.ts';
import { LiveConnectionError } from './live-connection-error.ts';
import type { PublisherLink, Transport } from './media-publisher.ts';
import { MediaUplink } from './media-uplink.ts';
import { TypedEmitter } from './typed-emitter.ts';

export { LiveConnectionError } from './live-connection-error.ts';
export type { Transport } from './media-publisher.ts';

export type WelcomeMessage = Extract<ServerMessage, { type: 'welcome' }>;
export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Error codes after which reconnecting cannot help (the token or the session is gone). */
const FATAL_ERROR_CODES = [
  'UNAUTHORIZED',
  'SESSION_EXPIRED',
  'NOT_FOUND',
  'BAD_MESSAGE',
] as const satisfies readonly ErrorCode[];
export const FATAL_CODES: ReadonlySet<string> = new Set(FATAL_ERROR_CODES);
/** WebSocket close codes of those errors, from the protocol's table. */
const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set(FATAL_ERROR_CODES.map(wsCloseCodeOf));

export interface LiveConnectionOptions {
  /** Single-use stream token `<sessionId>.<secret>`. */
  token: string;
  /** Base URL of the server (`https://host`). @defaultValue `location.origin` */
  server?: string;
  /** Analysis rate asked of the server. @defaultValue 10 */
  fps?: number;
  /** Aborting closes the connection (same as {@link LiveConnection.close}). */
  signal?: AbortSignal;
  /** Falls back to JPEG when no score arrives this long after the WebRTC offer. @defaultValue 5000 */
  mediaTimeoutMs?: number;
  /** Delays before each reconnect attempt; their count is the number of attempts. @defaultValue [500, 1000, 2000, 4000, 4000] */
  reconnectDelaysMs?: readonly number[];
  /** Try WebRTC before JPEG frames. @defaultValue true */
  webrtc?: boolean;
  /** JPEG frames are scaled down to at most this many pixels on their long side. @defaultValue 640 */
  maxFrameSide?: number;
  /** @defaultValue 0.8 */
  jpegQuality?: number;
}

export const DEFAULT_LIVE_CONNECTION_OPTIONS = {
  fps: 10,
  mediaTimeoutMs: 5000,
  reconnectDelaysMs: [500, 1000, 2000, 4000, 4000],
  webrtc: true,
  maxFrameSide: 640,
  jpegQuality: 0.8,
} as const;

export interface LiveError {
  code: string;
  message: string;
  fatal: boolean;
}

/** Events of a {@link LiveConnection}, by name. */
export interface LiveConnectionEvents {
  status: { status: ConnectionStatus; attempt: number };
  welcome: WelcomeMessage;
  /** A score, with the size of the frame its `box` is measured in. */
  score: { score: ScoreMessage; frameWidth: number; frameHeight: number };
  /** The server's view of the stream (`degraded` means it lowered the analysis rate). */
  state: StateMessage;
  /**
   * The session took a reference: the answer to an enrolment of this connection's (or to one a
   * later request superseded, which the server took all the same).
   */
  enrolled: EnrolledMessage;
  /** Active liveness: do this action now (its window just opened on the server). */
  challenge: ChallengeMessage;
  /** Liveness changed: a sequence was drawn, a challenge passed or failed. */
  liveness: LivenessMessage;
  /** The transport being used changed (`webrtc` is tried first). */
  transport: { transport: Transport; reason: string };
  /** The first score after streaming (re)started: media reaches the server. */
  media: { transport: Transport };
  error: LiveError;
  /** The connection ended for good (closed by us, a fatal error, or reconnecting gave up). */
  closed: { reason: string; code: string | null };
}

interface Deferred<T> {
  resolve(value: T): void;
  reject(error: LiveConnectionError): void;
}

/** `<sessionId>.<secret>` → `sessionId`. */
export function sessionIdOf(token: string): string {
  const id = sessionIdOfToken(token);
  if (id === null) throw new TypeError('token must have the form <sessionId>.<secret>');
  return id;
}

/** Base64 of a blob's bytes, in chunks (a spread of megabytes would overflow the call stack). */
export async function blobToBase64(blob: Blob): Promise<string> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * A browser client of the live protocol (`WS /v1/sessions/:id/stream`), free of any UI framework.
 *
 * It says hello with the token, keeps the `resumeToken` of each welcome, and reconnects with it
 * after an unexpected close (with backoff; never after UNAUTHORIZED, SESSION_EXPIRED, NOT_FOUND or
 * BAD_MESSAGE). Every server frame goes through `parseServerMessage`. Once given a camera it
 * publishes it through a {@link MediaUplink} (WebRTC, falling back to JPEG frames over this socket;
 * after a reconnect it resumes on the same transport), and enrolment replies are paired with their
 * request by an {@link EnrolmentMatcher}.
 */
export class LiveConnection extends TypedEmitter<LiveConnectionEvents> {
  readonly sessionId: string;
  readonly #reconnectDelaysMs: readonly number[];
  readonly #server: string;
  #token: string;
  #fps: number;
  #ws: WebSocket | null = null;
  #welcome: WelcomeMessage | null = null;
  #status: ConnectionStatus = 'connecting';
  #closed = false;
  /** Code of a fatal error the server announced before closing. */
  #fatalCode: string | null = null;
  #attempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  #connectWaiters: Deferred<WelcomeMessage>[] = [];
  readonly #enrolment = new EnrolmentMatcher();
  readonly #uplink: MediaUplink;
  #serverDegraded = false;
  readonly #abort: (() => void) | null = null;
  readonly #signal: AbortSignal | undefined;

  constructor(options: LiveConnectionOptions) {
    super();
    const merged = { ...DEFAULT_LIVE_CONNECTION_OPTIONS, ...options };
    this.sessionId = sessionIdOf(options.token);
    LiveConnection.#checkFps(merged.fps);
    if (!(merged.jpegQuality > 0 && merged.jpegQuality <= 1))
      throw new TypeError('jpegQuality must be in (0, 1]');
    if (!(merged.maxFrameSide >= 64)) throw new TypeError('maxFrameSide must be at least 64');
    this.#server = options.server || globalThis.location.origin;
    this.#reconnectDelaysMs = merged.reconnectDelaysMs;
    this.#token = options.token;
    this.#fps = merged.fps;
    const link: PublisherLink = {
      send: (message) => this.#send(message),
      canSendFrame: () => this.#ws !== null && this.#isOpen() && this.#ws.bufferedAmount === 0,
      sendFrame: (frame) => {
        if (this.#ws?.readyState !== WebSocket.OPEN) return false;
        this.#ws.send(frame);
        return true;
      },
    };
    this.#uplink = new MediaUplink({
      link,
      isOpen: () => this.#isOpen(),
      webrtc: merged.webrtc,
      mediaTimeoutMs: merged.mediaTimeoutMs,
      fps: merged.fps,
      maxFrameSide: merged.maxFrameSide,
      jpegQuality: merged.jpegQuality,
      onTransport: (detail) => this.emit('transport', detail),
      onMedia: (detail) => this.emit('media', detail),
    });
    this.#signal = options.signal;
    if (this.#signal) {
      this.#abort = () => this.close();
      this.#signal.addEventListener('abort', this.#abort, { once: true });
    }
  }

  static #checkFps(fps: number): void {
    if (!(fps >= LIVE_LIMITS.minFps && fps <= LIVE_LIMITS.maxFps)) {
      throw new TypeError(`fps must be in [${LIVE_LIMITS.minFps}, ${LIVE_LIMITS.maxFps}]`);
    }
  }

  /** The token to present next (the latest `resumeToken`, or the original one). */
  get token(): string {
    return this.#token;
  }
  get status(): ConnectionStatus {
    return this.#status;
  }
  get welcome(): WelcomeMessage | null {
    return this.#welcome;
  }
  get transport(): Transport | null {
    return this.#uplink.transport;
  }
  get closed(): boolean {
    return this.#closed;
  }
  get degraded(): boolean {
    return this.#serverDegraded;
  }

  /** Opens the socket and says hello; resolves with the first welcome. Calling it again is harmless. */
  connect(): Promise<WelcomeMessage> {
    if (this.#closed) return Promise.reject(new LiveConnectionError('CLOSED', 'The connection is closed.'));
    if (this.#signal?.aborted) {
      this.close();
      return Promise.reject(new LiveConnectionError('ABORTED', 'Aborted.'));
    }
    if (this.#welcome && this.#status === 'open') return Promise.resolve(this.#welcome);
    const promise = new Promise<WelcomeMessage>((resolve, reject) => {
      this.#connectWaiters.push({ resolve, reject });
    });
    if (!this.#ws && !this.#reconnectTimer) this.#open();
    return promise;
  }

  /** Sends a reference photo; resolves once the server enrolled it, rejects with its error code. */
  async enrollImage(image: Blob): Promise<void> {
    const base64 = await blobToBase64(image);
    if (base64.length > LIVE_LIMITS.maxEnrollImageLength) {
      throw new LiveConnectionError('IMAGE_TOO_LARGE', 'The photo is too large.');
    }
    return this.#enrol('image', { type: 'enroll', source: 'image', image: base64 });
  }

  /** Asks the server to enrol the face of the next single-face camera frame (stream first). */
  enrollFromFrame(): Promise<void> {
    return this.#enrol('frame', { type: 'enroll', source: 'frame' });
  }

  #enrol(source: EnrolmentSource, message: ClientMessage): Promise<void> {
    if (!this.#isOpen()) {
      return Promise.reject(new LiveConnectionError('NOT_CONNECTED', 'Not connected to the server.'));
    }
    const reply = this.#enrolment.request(source);
    this.#send(message);
    return reply;
  }

  /**
   * After a failed liveness sequence, asks for another (the server allows it while the session's
   * `retriesLeft` is above 0, and draws it once the face matches again). False when not connected.
   */
  retryLiveness(): boolean {
    if (!this.#isOpen()) return false;
    this.#send({ type: 'liveness_retry' });
    return true;
  }

  /** Changes the analysis rate asked of the server. */
  setFps(fps: number): void {
    LiveConnection.#checkFps(fps);
    this.#fps = fps;
    if (this.#isOpen()) this.#send({ type: 'config', fps });
    this.#uplink.setFps(fps);
  }

  /**
   * Streams a camera: WebRTC first, JPEG frames of `video` (which must play `stream`) otherwise.
   * Survives reconnects until {@link stopStreaming} or {@link close}.
   */
  startStreaming(stream: MediaStream, video: HTMLVideoElement): void {
    if (this.#closed) throw new LiveConnectionError('CLOSED', 'The connection is closed.');
    this.#uplink.setMedia({ stream, video });
    if (this.#isOpen()) this.#beginMedia();
  }

  stopStreaming(): void {
    this.#uplink.setMedia(null);
  }

  /** Says bye, closes the peer connection and the socket, stops every timer. Idempotent. */
  close(): void {
    this.#finish('closed', null);
  }

  #isOpen(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN && this.#welcome !== null && this.#status === 'open';
  }

  #send(message: ClientMessage): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(message));
  }

  #setStatus(status: ConnectionStatus): void {
    this.#status = status;
    this.emit('status', { status, attempt: this.#attempt });
  }

  #open(): void {
    this.#reconnectTimer = null;
    this.#welcome = null;
    this.#setStatus(this.#attempt === 0 ? 'connecting' : 'reconnecting');
    const url = new URL(`/v1/sessions/${encodeURIComponent(this.sessionId)}/stream`, this.#server);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch (error) {
      this.#finish('error', 'BAD_REQUEST', (error as Error).message);
      return;
    }
    this.#ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => this.#send({ type: 'hello', protocol: PROTOCOL_VERSION, token: this.#token });
    ws.onmessage = (event: MessageEvent) => {
      if (ws !== this.#ws || typeof event.data !== 'string') return;
      let message: ServerMessage;
      try {
        message = parseServerMessage(event.data);
      } catch (error) {
        this.emit('error', { code: 'BAD_MESSAGE', message: (error as Error).message, fatal: false });
        return;
      }
      this.#handle(message);
    };
    ws.onclose = (event: CloseEvent) => {
      if (ws !== this.#ws) return;
      this.#ws = null;
      this.#onSocketClosed(event.code, event.reason);
    };
  }

  #handle(message: ServerMessage): void {
    switch (message.type) {
      case 'welcome': {
        this.#welcome = message;
        this.#token = message.resumeToken;
        this.#attempt = 0;
        this.#setStatus('open');
        this.emit('welcome', message);
        for (const waiter of this.#connectWaiters.splice(0)) waiter.resolve(message);
        if (this.#uplink.media) this.#beginMedia();
        return;
      }
      case 'answer':
        this.#uplink.handleAnswer(message.sdp);
        return;
      case 'ice':
        this.#uplink.handleIce(message.candidate);
        return;
      case 'score':
        this.#uplink.handleScore();
        this.emit('score', { score: message, ...this.#uplink.scoreFrameSize() });
        return;
      case 'state':
        if (message.state === 'degraded') this.#serverDegraded = true;
        else if (message.state === 'streaming') this.#serverDegraded = false;
        this.emit('state', message);
        return;
      case 'enrolled':
        this.#enrolment.handleEnrolled(message);
        this.emit('enrolled', message);
        return;
      case 'challenge':
        this.emit('challenge', message);
        return;
      case 'liveness':
        this.emit('liveness', message);
        return;
      case 'error':
        if (message.code === 'WEBRTC_UNAVAILABLE') this.#uplink.fallBack('the server has no WebRTC');
        this.#enrolment.handleError(message);
        if (message.fatal) this.#fatalCode = message.code;
        this.emit('error', { code: message.code, message: message.message, fatal: message.fatal });
        return;
    }
  }

  /** Publishes the camera on the session that just opened (or is open). */
  #beginMedia(): void {
    if (!this.#uplink.media || !this.#welcome) return;
    this.#send({ type: 'config', fps: this.#fps });
    this.#uplink.start(this.#welcome.iceServers, this.#welcome.analysis);
  }

  #onSocketClosed(code: number, reason: string): void {
    this.#uplink.stop();
    this.#enrolment.fail(new LiveConnectionError('DISCONNECTED', 'The connection dropped.'));
    if (this.#closed) return;
    // The server sends `error {fatal}` and then closes with the code's 44xx close code and name.
    const announced = this.#fatalCode !== null && FATAL_CODES.has(this.#fatalCode) ? this.#fatalCode : null;
    const fatal =
      announced ??
      (FATAL_CLOSE_CODES.has(code) ? (FATAL_CODES.has(reason) ? reason : `CLOSE_${code}`) : null);
    if (fatal) {
      this.#finish('error', fatal, `The server ended the stream (${fatal}).`);
      return;
    }
    this.#fatalCode = null;
    const delays = this.#reconnectDelaysMs;
    if (this.#attempt >= delays.length) {
      this.#finish('error', 'RECONNECT_FAILED', 'Could not reach the server.');
      return;
    }
    const delay = delays[this.#attempt]!;
    this.#attempt++;
    this.#setStatus('reconnecting');
    this.#reconnectTimer = setTimeout(() => this.#open(), delay);
  }

  #finish(kind: 'closed' | 'error', code: string | null, message?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    this.#uplink.close();
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'bye' } satisfies ClientMessage));
      ws.close(WS_CLOSE_CODES.NORMAL, 'bye');
    }
    if (this.#signal && this.#abort) this.#signal.removeEventListener('abort', this.#abort);
    const error = new LiveConnectionError(code ?? 'CLOSED', message ?? 'The connection was closed.');
    this.#enrolment.fail(error);
    for (const waiter of this.#connectWaiters.splice(0)) waiter.reject(error);
    this.#status = 'closed';
    if (kind === 'error' && code) {
      // A fatal error the server sent was already emitted; announce the others.
      if (code !== this.#fatalCode) this.emit('error', { code, message: error.message, fatal: true });
    }
    this.emit('status', { status: 'closed', attempt: this.#attempt });
    this.emit('closed', { reason: kind === 'closed' ? 'closed' : error.message, code });
    this.removeAllListeners();
  }
}
