import {
  LIVE_LIMITS,
  PROTOCOL_VERSION,
  parseServerMessage,
  sessionIdOfToken,
  type ClientMessage,
  type ScoreMessage,
  type ServerMessage,
  type StateMessage,
} from '@fv/protocol';

export type WelcomeMessage = Extract<ServerMessage, { type: 'welcome' }>;
export type Transport = 'webrtc' | 'jpeg';
export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Error codes after which reconnecting cannot help (the token or the session is gone). */
export const FATAL_CODES: ReadonlySet<string> = new Set([
  'UNAUTHORIZED',
  'SESSION_EXPIRED',
  'NOT_FOUND',
  'BAD_MESSAGE',
]);
/** WebSocket close codes of those errors (`ERROR_CODES[code].ws`). */
const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([4400, 4401, 4404, 4410]);
/** Codes a failed `enroll {source:'image'}` answers with. */
const IMAGE_CODES: ReadonlySet<string> = new Set([
  'NO_FACE',
  'EMPTY_IMAGE',
  'UNSUPPORTED_IMAGE',
  'CORRUPT_IMAGE',
  'IMAGE_TOO_LARGE',
  'IMAGE_TOO_MANY_PIXELS',
  'DECODE_TIMEOUT',
]);

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
  /** The transport being used changed (`webrtc` is tried first). */
  transport: { transport: Transport; reason: string };
  /** The first score after streaming (re)started: media reaches the server. */
  media: { transport: Transport };
  error: LiveError;
  /** The connection ended for good (closed by us, a fatal error, or reconnecting gave up). */
  closed: { reason: string; code: string | null };
}

type Listener<T> = (detail: T) => void;

/** A tiny typed event emitter (no DOM dependency, so the listeners' types follow the event name). */
export class TypedEmitter<M extends object> {
  readonly #listeners = new Map<keyof M, Set<Listener<never>>>();

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof M>(type: K, listener: Listener<M[K]>): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  protected emit<K extends keyof M>(type: K, detail: M[K]): void {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) (listener as Listener<M[K]>)(detail);
  }

  protected removeAllListeners(): void {
    this.#listeners.clear();
  }
}

/** Thrown (as a rejection) by {@link LiveConnection.connect} and the enrol methods. */
export class LiveConnectionError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LiveConnectionError';
  }
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
 * BAD_MESSAGE). Once given a camera stream it sends it over WebRTC and falls back to JPEG frames
 * over the same socket when WebRTC is missing, ICE fails, or no score comes back in time; after a
 * reconnect it resumes on the same transport. Every server frame goes through `parseServerMessage`.
 */
export class LiveConnection extends TypedEmitter<LiveConnectionEvents> {
  readonly sessionId: string;
  readonly #options: Required<Omit<LiveConnectionOptions, 'signal' | 'server'>> & { server: string };
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
  #enrol: (Deferred<void> & { source: 'image' | 'frame' }) | null = null;
  #serverDegraded = false;

  // Media: what the caller wants streamed, and how it currently goes.
  #media: { stream: MediaStream; video: HTMLVideoElement } | null = null;
  #transport: Transport | null = null;
  /** Sticky: once WebRTC failed, later (re)starts go straight to JPEG. */
  #webrtcFailed = false;
  #awaitingMedia = false;
  #pc: RTCPeerConnection | null = null;
  #pendingIce: RTCIceCandidateInit[] = [];
  #mediaTimer: ReturnType<typeof setTimeout> | null = null;
  #jpegTimer: ReturnType<typeof setInterval> | null = null;
  #encoding = false;
  #canvas: HTMLCanvasElement | null = null;
  #frameSize = { width: 0, height: 0 };
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
    this.#options = { ...merged, server: options.server || globalThis.location.origin };
    this.#token = options.token;
    this.#fps = merged.fps;
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
    return this.#transport;
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
    return this.#startEnrol('image', { type: 'enroll', source: 'image', image: base64 });
  }

  /** Asks the server to enrol the face of the next single-face camera frame (stream first). */
  enrollFromFrame(): Promise<void> {
    return this.#startEnrol('frame', { type: 'enroll', source: 'frame' });
  }

  #startEnrol(source: 'image' | 'frame', message: ClientMessage): Promise<void> {
    if (!this.#isOpen()) {
      return Promise.reject(new LiveConnectionError('NOT_CONNECTED', 'Not connected to the server.'));
    }
    this.#enrol?.reject(new LiveConnectionError('SUPERSEDED', 'Another enrolment started.'));
    return new Promise<void>((resolve, reject) => {
      this.#enrol = { source, resolve, reject };
      this.#send(message);
    });
  }

  /** Changes the analysis rate asked of the server. */
  setFps(fps: number): void {
    LiveConnection.#checkFps(fps);
    this.#fps = fps;
    if (this.#isOpen()) this.#send({ type: 'config', fps });
    if (this.#jpegTimer) this.#startJpegLoop();
  }

  /**
   * Streams a camera: WebRTC first, JPEG frames of `video` (which must play `stream`) otherwise.
   * Survives reconnects until {@link stopStreaming} or {@link close}.
   */
  startStreaming(stream: MediaStream, video: HTMLVideoElement): void {
    if (this.#closed) throw new LiveConnectionError('CLOSED', 'The connection is closed.');
    this.#stopTransport();
    this.#media = { stream, video };
    if (this.#isOpen()) this.#beginMedia();
  }

  stopStreaming(): void {
    this.#media = null;
    this.#stopTransport();
    this.#transport = null;
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
    const url = new URL(`/v1/sessions/${encodeURIComponent(this.sessionId)}/stream`, this.#options.server);
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
        if (this.#media) this.#beginMedia();
        return;
      }
      case 'answer':
        void this.#applyAnswer(message.sdp);
        return;
      case 'ice': {
        const candidate = message.candidate;
        if (!candidate || !this.#pc) return;
        if (this.#pc.remoteDescription) this.#pc.addIceCandidate(candidate).catch(() => undefined);
        else this.#pendingIce.push(candidate);
        return;
      }
      case 'score': {
        if (this.#awaitingMedia) {
          this.#awaitingMedia = false;
          this.#clearMediaTimer();
          if (this.#transport) this.emit('media', { transport: this.#transport });
        }
        this.emit('score', { score: message, ...this.#scoreFrameSize() });
        return;
      }
      case 'state': {
        if (message.state === 'degraded') this.#serverDegraded = true;
        else if (message.state === 'streaming') this.#serverDegraded = false;
        if (this.#enrol && message.state === 'awaiting_media') {
          const enrol = this.#enrol;
          this.#enrol = null;
          enrol.resolve();
        }
        this.emit('state', message);
        return;
      }
      case 'error': {
        if (message.code === 'WEBRTC_UNAVAILABLE') this.#fallBack('the server has no WebRTC');
        if (this.#enrol?.source === 'image' && IMAGE_CODES.has(message.code)) {
          const enrol = this.#enrol;
          this.#enrol = null;
          enrol.reject(new LiveConnectionError(message.code, message.message));
        }
        if (message.fatal) this.#fatalCode = message.code;
        this.emit('error', { code: message.code, message: message.message, fatal: message.fatal });
        return;
      }
    }
  }

  #onSocketClosed(code: number, reason: string): void {
    this.#stopTransport();
    this.#enrol?.reject(new LiveConnectionError('DISCONNECTED', 'The connection dropped.'));
    this.#enrol = null;
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
    const delays = this.#options.reconnectDelaysMs;
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
    this.#media = null;
    this.#stopTransport();
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'bye' } satisfies ClientMessage));
      ws.close(1000, 'bye');
    }
    if (this.#signal && this.#abort) this.#signal.removeEventListener('abort', this.#abort);
    const error = new LiveConnectionError(code ?? 'CLOSED', message ?? 'The connection was closed.');
    this.#enrol?.reject(error);
    this.#enrol = null;
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

  // Media ----------------------------------------------------------------------------------------

  #beginMedia(): void {
    if (!this.#media) return;
    this.#send({ type: 'config', fps: this.#fps });
    this.#awaitingMedia = true;
    const webrtc = this.#options.webrtc && !this.#webrtcFailed && typeof RTCPeerConnection === 'function';
    if (webrtc) void this.#startWebRtc();
    else this.#startJpeg(this.#webrtcFailed ? 'WebRTC failed earlier' : 'WebRTC is not available');
  }

  async #startWebRtc(): Promise<void> {
    const media = this.#media;
    const welcome = this.#welcome;
    if (!media || !welcome) return;
    let pc: RTCPeerConnection;
    try {
      pc = new RTCPeerConnection({ iceServers: welcome.iceServers });
    } catch {
      this.#fallBack('WebRTC could not start');
      return;
    }
    this.#pc = pc;
    this.#pendingIce = [];
    this.#setTransport('webrtc', 'trying WebRTC');
    pc.onicecandidate = (event) => {
      if (this.#pc !== pc) return;
      const c = event.candidate;
      this.#send({
        type: 'ice',
        // Only the fields the protocol knows (toJSON() adds usernameFragment); '' ends gathering too.
        candidate: c?.candidate
          ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex }
          : null,
      });
    };
    pc.oniceconnectionstatechange = () => {
      if (this.#pc === pc && pc.iceConnectionState === 'failed')
        this.#fallBack('the WebRTC connection failed');
    };
    // No score within the timeout: media does not get through (e.g. no ICE candidates on loopback).
    this.#clearMediaTimer();
    this.#mediaTimer = setTimeout(() => {
      if (this.#pc === pc && this.#awaitingMedia) this.#fallBack('no video reached the server over WebRTC');
    }, this.#options.mediaTimeoutMs);
    try {
      for (const track of media.stream.getVideoTracks()) pc.addTrack(track, media.stream);
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      if (this.#pc !== pc) return;
      this.#send({ type: 'offer', sdp: pc.localDescription?.sdp ?? offer.sdp ?? '' });
    } catch {
      if (this.#pc === pc) this.#fallBack('WebRTC negotiation failed');
    }
  }

  async #applyAnswer(sdp: string): Promise<void> {
    const pc = this.#pc;
    if (!pc) return;
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp });
      for (const candidate of this.#pendingIce.splice(0))
        await pc.addIceCandidate(candidate).catch(() => undefined);
    } catch {
      if (this.#pc === pc) this.#fallBack('the server answer was not usable');
    }
  }

  #fallBack(reason: string): void {
    if (this.#transport === 'jpeg' || this.#closed) return;
    this.#webrtcFailed = true;
    this.#closePeer();
    this.#clearMediaTimer();
    if (this.#media && this.#isOpen()) this.#startJpeg(reason);
  }

  #setTransport(transport: Transport, reason: string): void {
    this.#transport = transport;
    this.emit('transport', { transport, reason });
  }

  #startJpeg(reason: string): void {
    this.#canvas ??= document.createElement('canvas');
    this.#awaitingMedia = true;
    this.#setTransport('jpeg', reason);
    this.#startJpegLoop();
  }

  #startJpegLoop(): void {
    if (this.#jpegTimer) clearInterval(this.#jpegTimer);
    this.#jpegTimer = setInterval(() => this.#sendJpegFrame(), 1000 / this.#fps);
  }

  #sendJpegFrame(): void {
    const ws = this.#ws;
    const media = this.#media;
    const canvas = this.#canvas;
    // At most one unsent frame: a frame still in the socket's buffer (or being encoded) means the
    // link is slower than the rate, and a fresh frame later beats a stale one now.
    if (!ws || !media || !canvas || this.#encoding || !this.#isOpen() || ws.bufferedAmount > 0) return;
    const { video } = media;
    if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || !video.videoWidth) return;
    const scale = Math.min(1, this.#options.maxFrameSide / Math.max(video.videoWidth, video.videoHeight));
    const width = Math.round(video.videoWidth * scale);
    const height = Math.round(video.videoHeight * scale);
    if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, { width, height });
    const context = canvas.getContext('2d');
    if (!context) return;
    context.drawImage(video, 0, 0, width, height);
    this.#encoding = true;
    canvas.toBlob(
      (blob) => {
        if (!blob || ws !== this.#ws || !this.#jpegTimer) {
          this.#encoding = false;
          return;
        }
        blob
          .arrayBuffer()
          .then((buffer) => {
            if (
              ws === this.#ws &&
              ws.readyState === WebSocket.OPEN &&
              buffer.byteLength <= LIVE_LIMITS.maxFrameBytes
            ) {
              ws.send(buffer);
              this.#frameSize = { width, height };
            }
          })
          .finally(() => {
            this.#encoding = false;
          });
      },
      'image/jpeg',
      this.#options.jpegQuality,
    );
  }

  /** The pixel space of `score.box`: the JPEG frame as sent, or the camera frame over WebRTC. */
  #scoreFrameSize(): { frameWidth: number; frameHeight: number } {
    if (this.#transport === 'jpeg' && this.#frameSize.width) {
      return { frameWidth: this.#frameSize.width, frameHeight: this.#frameSize.height };
    }
    const video = this.#media?.video;
    const settings = this.#media?.stream.getVideoTracks()[0]?.getSettings();
    return {
      frameWidth: video?.videoWidth || settings?.width || 0,
      frameHeight: video?.videoHeight || settings?.height || 0,
    };
  }

  #clearMediaTimer(): void {
    if (this.#mediaTimer) clearTimeout(this.#mediaTimer);
    this.#mediaTimer = null;
  }

  #closePeer(): void {
    const pc = this.#pc;
    this.#pc = null;
    this.#pendingIce = [];
    if (pc) {
      pc.onicecandidate = null;
      pc.oniceconnectionstatechange = null;
      pc.close();
    }
  }

  /** Stops sending (peer, JPEG loop, timers) but keeps `#media`, so a reconnect resumes it. */
  #stopTransport(): void {
    this.#closePeer();
    this.#clearMediaTimer();
    if (this.#jpegTimer) clearInterval(this.#jpegTimer);
    this.#jpegTimer = null;
    this.#encoding = false;
    this.#awaitingMedia = false;
  }
}
