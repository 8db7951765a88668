import { LitElement, css, html, nothing, type PropertyValues } from 'lit';
import type { LiveVerdict, ScoreMessage } from '@fv/protocol';
import {
  LiveConnection,
  LiveConnectionError,
  type ConnectionStatus,
  type LiveConnectionEvents,
  type LiveError,
  type Transport,
} from '../lib/live-connection.ts';
import './fv-score-gauge.ts';

export type VerifyState =
  'idle' | 'connecting' | 'enrolling' | 'streaming' | 'degraded' | 'reconnecting' | 'finished' | 'error';

/** `detail` of each event `<fv-verify>` fires, by event name. */
export interface FvVerifyEventMap {
  'fv-started': { sessionId: string; transport: Transport };
  'fv-score': { score: ScoreMessage };
  'fv-verdict': { verdict: LiveVerdict; distance: number | null; similarity: number | null };
  'fv-state': { state: VerifyState };
  'fv-error': LiveError;
  'fv-finished': { verdict: LiveVerdict; distance: number | null; reason: string };
}

const VERDICT_TEXT: Record<LiveVerdict, { label: string; icon: string }> = {
  pending: { label: 'Checking…', icon: '…' },
  matched: { label: 'Matched', icon: '✓' },
  not_matched: { label: 'Not matched', icon: '✗' },
  no_face: { label: 'No face', icon: '?' },
  multiple_faces: { label: 'More than one face', icon: '!' },
};

const QUALITY_TEXT: Record<ScoreMessage['quality'][number], string> = {
  too_small: 'Move closer to the camera.',
  too_dark: 'Your face is too dark: add some light in front of you.',
  too_bright: 'Too bright: move away from direct light.',
  blurry: 'The picture is blurry: hold still.',
  off_centre: 'Centre your face in the picture.',
};

const ENROL_ERROR_TEXT: Record<string, string> = {
  NO_FACE: 'No face was found in this photo. Choose a clear, front-facing photo of one person.',
  UNSUPPORTED_IMAGE: 'This file is not a supported image. Use a JPEG, PNG or WebP photo.',
  CORRUPT_IMAGE: 'This image could not be read. Try another photo.',
  EMPTY_IMAGE: 'This file is empty. Try another photo.',
  IMAGE_TOO_LARGE: 'This photo is too large. Try a smaller one.',
  IMAGE_TOO_MANY_PIXELS: 'This photo has too many pixels. Try a smaller one.',
  DECODE_TIMEOUT: 'This photo took too long to read. Try a smaller one.',
  NOT_CONNECTED: 'Not connected to the server yet. Try again in a moment.',
  DISCONNECTED: 'The connection dropped before the photo was checked. Try again.',
};

const FATAL_TEXT: Record<string, string> = {
  UNAUTHORIZED: 'This verification link is not valid or was already used.',
  SESSION_EXPIRED: 'This verification session has expired.',
  NOT_FOUND: 'This verification session does not exist.',
  BAD_MESSAGE: 'The widget and the server do not understand each other. Reload the page.',
  RECONNECT_FAILED: 'Could not reach the server. Check your connection and press Start to try again.',
};

/** Sessions whose failure a new Start cannot fix (a new token is needed). */
const NEEDS_NEW_TOKEN = new Set(['UNAUTHORIZED', 'SESSION_EXPIRED', 'NOT_FOUND', 'BAD_MESSAGE']);

/** Largest reference photo sent as is; bigger ones are scaled to `REFERENCE_MAX_SIDE` first. */
const REFERENCE_MAX_BYTES = 2 * 1024 * 1024;
const REFERENCE_MAX_SIDE = 1280;

const round4 = (value: number | null): number | null =>
  value === null ? null : Math.round(value * 1e4) / 1e4;

class CameraError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function openCamera(): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new CameraError(
      'CAMERA_UNAVAILABLE',
      'This browser cannot use a camera on this page. Open it over https in a current browser.',
    );
  }
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 } },
    });
  } catch (error) {
    const name = (error as DOMException).name;
    if (name === 'NotAllowedError' || name === 'SecurityError') {
      throw new CameraError(
        'CAMERA_DENIED',
        'Camera access was denied. Allow the camera for this site in your browser settings, then press Start.',
      );
    }
    if (name === 'NotFoundError' || name === 'OverconstrainedError') {
      throw new CameraError('CAMERA_UNAVAILABLE', 'No camera was found. Connect a camera, then press Start.');
    }
    if (name === 'NotReadableError' || name === 'AbortError') {
      throw new CameraError(
        'CAMERA_IN_USE',
        'The camera is busy (another application may be using it). Close it, then press Start.',
      );
    }
    throw new CameraError('CAMERA_UNAVAILABLE', `The camera could not start (${name || 'unknown error'}).`);
  }
}

/** A photo the server can take: decoded here first (so a non-image fails early), scaled if large. */
async function prepareReference(file: Blob): Promise<Blob> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new LiveConnectionError('UNSUPPORTED_IMAGE', 'not an image');
  }
  try {
    const scale = Math.min(1, REFERENCE_MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const sendable = ['image/jpeg', 'image/png', 'image/webp'].includes(file.type);
    if (scale === 1 && sendable && file.size <= REFERENCE_MAX_BYTES) return file;
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext('2d')?.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.9));
    if (!blob) throw new LiveConnectionError('CORRUPT_IMAGE', 'could not re-encode');
    return blob;
  } finally {
    bitmap.close();
  }
}

/**
 * `<fv-verify>`: live face verification. Connects with a single-use session `token`, asks for a
 * reference photo when the session has none (upload, or capture from the camera), then streams the
 * camera (WebRTC, or JPEG frames over the WebSocket when WebRTC fails) and shows the face box, a
 * similarity gauge and the verdict. Reconnects by itself after a dropped connection.
 *
 * The widget connects as soon as it has a `token` (that spends the token; the connection keeps the
 * next one). With `autostart` and an already enrolled session the camera starts at once;
 * otherwise the user presses Start.
 *
 * Attributes (inputs): `token`, `server` (base URL; default: same origin), `fps` (analysis rate,
 * default 10), `autostart` (boolean). Reflected, read-only: `verdict`
 * (`pending|matched|not_matched|no_face|multiple_faces`), `distance` and `similarity` (absent when
 * there is no reading), `state` (`idle|connecting|enrolling|streaming|degraded|reconnecting|finished|error`),
 * `transport` (`webrtc|jpeg`, absent when not streaming).
 *
 * Stable test hooks (`data-testid` in the shadow root): `fv-enrol-file` (reference file input),
 * `fv-enrol-submit` ("Use this photo"), `fv-enrol-camera` ("Use my camera"), `fv-enrol-capture`
 * ("Take reference photo"), `fv-enrol-message`, `fv-enrolled`, `fv-start`, `fv-stop`,
 * `fv-status`, `fv-verdict`, `fv-box`, `fv-hints`, `fv-error`.
 *
 * @fires fv-started - `{sessionId, transport}`: the first score after Start (media reaches the server)
 * @fires fv-score - `{score}`: every score message
 * @fires fv-verdict - `{verdict, distance, similarity}`: the verdict changed
 * @fires fv-state - `{state}`: the `state` attribute changed
 * @fires fv-error - `{code, message, fatal}`: server, connection or camera errors (camera codes:
 *   `CAMERA_DENIED`, `CAMERA_UNAVAILABLE`, `CAMERA_IN_USE`, not fatal: Start retries)
 * @fires fv-finished - `{verdict, distance, reason}`: `stop()` (reason `stopped`), or the session
 *   ended by a fatal error (reason = its code)
 *
 * @csspart stage - the camera preview box
 * @csspart video - the mirrored `<video>`
 * @csspart box - the face box drawn over the preview
 * @csspart panel - the column with status, verdict, gauge, enrolment and buttons
 * @csspart status - the one-line connection/stream state
 * @csspart verdict - the verdict (an `aria-live="polite"` region)
 * @csspart gauge - the `<fv-score-gauge>`
 * @csspart hints - quality hints
 * @csspart enrol - the enrolment step
 * @csspart start-button
 * @csspart stop-button
 */
export class FvVerify extends LitElement {
  static override properties = {
    token: { type: String },
    server: { type: String },
    fps: { type: Number },
    autostart: { type: Boolean },
    verdict: { type: String, reflect: true },
    distance: { type: Number, reflect: true },
    similarity: { type: Number, reflect: true },
    state: { type: String, reflect: true },
    transport: { type: String, reflect: true },
    _status: { state: true },
    _attempt: { state: true },
    _enrolled: { state: true },
    _camera: { state: true },
    _flowing: { state: true },
    _degraded: { state: true },
    _analysisFps: { state: true },
    _failure: { state: true },
    _finished: { state: true },
    _box: { state: true },
    _quality: { state: true },
    _threshold: { state: true },
    _thresholdSimilarity: { state: true },
    _aspect: { state: true },
    _enrolFile: { state: true },
    _enrolPreview: { state: true },
    _enrolBusy: { state: true },
    _enrolCapture: { state: true },
    _enrolNote: { state: true },
  };

  declare token: string;
  declare server: string;
  declare fps: number;
  declare autostart: boolean;
  declare verdict: LiveVerdict;
  declare distance: number | null;
  declare similarity: number | null;
  declare state: VerifyState;
  declare transport: Transport | null;

  declare _status: ConnectionStatus | 'none';
  declare _attempt: number;
  /** Whether the session has a reference; null until the first welcome. */
  declare _enrolled: boolean | null;
  declare _camera: 'off' | 'requesting' | 'on';
  /** Scores arrive for the current stream. */
  declare _flowing: boolean;
  declare _degraded: boolean;
  declare _analysisFps: number;
  /** What stopped the widget (camera or fatal connection error). */
  declare _failure: { code: string; message: string } | null;
  declare _finished: boolean;
  declare _box: { left: number; top: number; width: number; height: number } | null;
  declare _quality: ScoreMessage['quality'];
  declare _threshold: number | null;
  declare _thresholdSimilarity: number | null;
  declare _aspect: string;
  declare _enrolFile: File | null;
  declare _enrolPreview: string | null;
  declare _enrolBusy: 'image' | 'frame' | null;
  declare _enrolCapture: boolean;
  declare _enrolNote: { kind: 'info' | 'error' | 'done'; text: string } | null;

  #connection: LiveConnection | null = null;
  /** The token the current `token` attribute turned into (the latest resumeToken). */
  #nextToken: string | null = null;
  #stream: MediaStream | null = null;
  #starting = false;
  /** A Start is active (camera on, streaming wanted): for `fv-started` and `fv-finished`. */
  #active = false;
  #startedFired = false;
  #sample: { distance: number; logit: number; threshold: number } | null = null;
  #queued: { name: keyof FvVerifyEventMap; detail: unknown }[] = [];

  constructor() {
    super();
    this.token = '';
    this.server = '';
    this.fps = 10;
    this.autostart = false;
    this.verdict = 'pending';
    this.distance = null;
    this.similarity = null;
    this.state = 'idle';
    this.transport = null;
    this._status = 'none';
    this._attempt = 0;
    this._enrolled = null;
    this._camera = 'off';
    this._flowing = false;
    this._degraded = false;
    this._analysisFps = 0;
    this._failure = null;
    this._finished = false;
    this._box = null;
    this._quality = [];
    this._threshold = null;
    this._thresholdSimilarity = null;
    this._aspect = '4 / 3';
    this._enrolFile = null;
    this._enrolPreview = null;
    this._enrolBusy = null;
    this._enrolCapture = false;
    this._enrolNote = null;
  }

  // Public API ------------------------------------------------------------------------------------

  /** Turns the camera on and streams it (connecting first when needed). */
  async start(): Promise<void> {
    if (!this.token || this.#starting || this._camera !== 'off' || this._finished) return;
    if (this._failure && NEEDS_NEW_TOKEN.has(this._failure.code)) return;
    this.#starting = true;
    this._failure = null;
    this._finished = false;
    try {
      if (!this.#connection || this.#connection.closed) this.#connect();
      const connection = this.#connection!;
      this._camera = 'requesting';
      const stream = await openCamera();
      if (connection !== this.#connection || connection.closed || this._camera !== 'requesting') {
        for (const track of stream.getTracks()) track.stop();
        return;
      }
      this.#stream = stream;
      const video = await this.#video();
      video.srcObject = stream;
      await video.play().catch(() => undefined);
      this._camera = 'on';
      this.#active = true;
      this.#startedFired = false;
      this._flowing = false;
      await connection.connect();
      if (connection === this.#connection && this.#stream === stream)
        connection.startStreaming(stream, video);
    } catch (error) {
      if (error instanceof CameraError) {
        this._camera = 'off';
        this._failure = { code: error.code, message: error.message };
        this.#queue('fv-error', { code: error.code, message: error.message, fatal: false });
      }
      // Connection failures arrive as `closed`/`error` events.
    } finally {
      this.#starting = false;
    }
  }

  /**
   * Says bye, releases the camera and fires `fv-finished`. Bye ends the session on the server (its
   * tenant is told the result), so verifying again needs a new session (a new `token`).
   */
  stop(): void {
    const wasActive = this.#active || this.#connection !== null;
    this.#closeConnection();
    this.#releaseCamera();
    if (!wasActive) return;
    this._finished = true;
    this.#queue('fv-finished', { verdict: this.verdict, distance: this.distance, reason: 'stopped' });
  }

  // Lifecycle -------------------------------------------------------------------------------------

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.hasUpdated && this.token && !this.#connection) this.#connect();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#closeConnection();
    this.#releaseCamera();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('token') && changed.get('token') !== undefined) this.#resetSession();
    this.state = this.#deriveState();
    if (changed.has('fps') && this.#connection && this.fps >= 1 && this.fps <= 30) {
      this.#connection.setFps(this.fps);
    }
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('token') && this.token && !this.#connection && this.isConnected) this.#connect();
    if (changed.has('state') && changed.get('state') !== undefined) {
      this.#dispatch('fv-state', { state: this.state });
    }
    for (const { name, detail } of this.#queued.splice(0)) this.#dispatch(name, detail as never);
  }

  // Connection ------------------------------------------------------------------------------------

  #connect(): void {
    this.#closeConnection();
    const token = this.#nextToken ?? this.token;
    let connection: LiveConnection;
    try {
      connection = new LiveConnection({ token, server: this.server || undefined, fps: this.#fpsOrDefault() });
    } catch (error) {
      this._failure = { code: 'UNAUTHORIZED', message: FATAL_TEXT['UNAUTHORIZED']! };
      this.#queue('fv-error', { code: 'UNAUTHORIZED', message: (error as Error).message, fatal: true });
      return;
    }
    this.#connection = connection;
    this._failure = null;
    this._finished = false;
    const on = <K extends keyof LiveConnectionEvents>(
      type: K,
      listener: (detail: LiveConnectionEvents[K]) => void,
    ): void => {
      connection.on(type, (detail) => {
        if (connection === this.#connection) listener(detail);
      });
    };
    on('status', ({ status, attempt }) => {
      this._status = status;
      this._attempt = attempt;
      if (status === 'reconnecting') this._flowing = false;
    });
    on('welcome', (welcome) => {
      this.#nextToken = welcome.resumeToken;
      this._enrolled = welcome.enrolled;
      if (welcome.enrolled && this.autostart && !this._finished && this._camera === 'off') void this.start();
    });
    on('transport', ({ transport }) => {
      this.transport = transport;
      this._flowing = false;
    });
    on('media', ({ transport }) => {
      this._flowing = true;
      if (!this.#startedFired) {
        this.#startedFired = true;
        this.#queue('fv-started', { sessionId: connection.sessionId, transport });
      }
    });
    on('state', (message) => {
      this._degraded = message.state === 'degraded' || (this._degraded && message.state !== 'streaming');
      if (message.analysisFps > 0) this._analysisFps = message.analysisFps;
    });
    on('score', (event) => this.#onScore(event));
    on('error', (error) => this.#queue('fv-error', error));
    on('closed', ({ code }) => {
      this.#nextToken = connection.token;
      this.#connection = null;
      this._status = 'closed';
      if (code === null) return;
      this._failure = { code, message: FATAL_TEXT[code] ?? `The session ended (${code}).` };
      this.#releaseCamera();
      if (this.#active || this._enrolled !== null) {
        this.#queue('fv-finished', { verdict: this.verdict, distance: this.distance, reason: code });
      }
      this.#active = false;
    });
    connection.connect().catch(() => undefined);
  }

  #closeConnection(): void {
    const connection = this.#connection;
    if (!connection) return;
    this.#nextToken = connection.token;
    this.#connection = null;
    connection.close();
    this._status = 'closed';
    this._flowing = false;
    this._degraded = false;
    this.transport = null;
    this._enrolBusy = null;
    this._enrolCapture = false;
  }

  #releaseCamera(): void {
    this.#active = false;
    for (const track of this.#stream?.getTracks() ?? []) track.stop();
    this.#stream = null;
    const video = this.renderRoot.querySelector('video');
    if (video) video.srcObject = null;
    this._camera = 'off';
    this._flowing = false;
    this._box = null;
    this._quality = [];
    this.transport = null;
  }

  /** A new token: a new session, nothing carries over. */
  #resetSession(): void {
    this.#closeConnection();
    this.#releaseCamera();
    this.#nextToken = null;
    this.#sample = null;
    this._enrolled = null;
    this._failure = null;
    this._finished = false;
    this._threshold = null;
    this._thresholdSimilarity = null;
    this._enrolNote = null;
    this.#setEnrolFile(null);
    this.distance = null;
    this.similarity = null;
    if (this.verdict !== 'pending') {
      this.verdict = 'pending';
      this.#queue('fv-verdict', { verdict: 'pending', distance: null, similarity: null });
    }
  }

  #onScore({ score, frameWidth, frameHeight }: LiveConnectionEvents['score']): void {
    if (this._camera !== 'on') return;
    const distance = round4(score.smoothedDistance ?? score.distance);
    const similarity = round4(score.similarity);
    this.distance = distance;
    this.similarity = similarity;
    this._threshold = score.threshold;
    this._quality = score.quality;
    this.#learnThreshold(score);
    this._box =
      score.box && frameWidth > 0 && frameHeight > 0
        ? {
            left: (score.box.x / frameWidth) * 100,
            top: (score.box.y / frameHeight) * 100,
            width: (score.box.width / frameWidth) * 100,
            height: (score.box.height / frameHeight) * 100,
          }
        : null;
    if (score.verdict !== 'pending' && this._enrolled === false) this._enrolled = true;
    this.#queue('fv-score', { score });
    if (score.verdict !== this.verdict) {
      this.verdict = score.verdict;
      this.#queue('fv-verdict', { verdict: score.verdict, distance, similarity });
    }
  }

  /**
   * The gauge marks the threshold in similarity space, but the server sends the threshold as a
   * distance and similarity = sigmoid(a + b·distance) with a calibration it does not send: two
   * readings at different distances determine a and b exactly.
   */
  #learnThreshold(score: ScoreMessage): void {
    const distance = score.smoothedDistance;
    const s = score.similarity;
    if (distance === null || s === null || s <= 1e-9 || s >= 1 - 1e-9) return;
    const logit = Math.log(s / (1 - s));
    const first = this.#sample;
    if (!first || first.threshold !== score.threshold) {
      this.#sample = { distance, logit, threshold: score.threshold };
      return;
    }
    if (Math.abs(first.distance - distance) < 0.002) return;
    const slope = (logit - first.logit) / (distance - first.distance);
    const at = first.logit + slope * (score.threshold - first.distance);
    if (Number.isFinite(at) && slope < 0) this._thresholdSimilarity = 1 / (1 + Math.exp(-at));
  }

  #deriveState(): VerifyState {
    if (this._failure) return 'error';
    if (this._finished) return 'finished';
    if (this._status === 'reconnecting') return 'reconnecting';
    if (this._status === 'connecting' || this._camera === 'requesting') return 'connecting';
    if (this._status !== 'open') return 'idle';
    if (this._enrolled === false) return 'enrolling';
    if (this._camera === 'on') return this._degraded ? 'degraded' : 'streaming';
    return 'idle';
  }

  #fpsOrDefault(): number {
    return this.fps >= 1 && this.fps <= 30 ? this.fps : 10;
  }

  #queue<K extends keyof FvVerifyEventMap>(name: K, detail: FvVerifyEventMap[K]): void {
    this.#queued.push({ name, detail });
    this.requestUpdate();
  }

  #dispatch<K extends keyof FvVerifyEventMap>(name: K, detail: FvVerifyEventMap[K]): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  async #video(): Promise<HTMLVideoElement> {
    await this.updateComplete;
    return this.renderRoot.querySelector('video')!;
  }

  // Enrolment -------------------------------------------------------------------------------------

  #setEnrolFile(file: File | null): void {
    if (this._enrolPreview) URL.revokeObjectURL(this._enrolPreview);
    this._enrolFile = file;
    this._enrolPreview = file ? URL.createObjectURL(file) : null;
  }

  #onFileChange(event: Event): void {
    const file = (event.target as HTMLInputElement).files?.[0] ?? null;
    this._enrolNote = null;
    if (file && !file.type.startsWith('image/')) {
      this.#setEnrolFile(null);
      this._enrolNote = { kind: 'error', text: ENROL_ERROR_TEXT['UNSUPPORTED_IMAGE']! };
      return;
    }
    this.#setEnrolFile(file);
  }

  async #enrolFromFile(): Promise<void> {
    const file = this._enrolFile;
    const connection = this.#connection;
    if (!file || !connection || this._enrolBusy) return;
    this._enrolBusy = 'image';
    this._enrolNote = { kind: 'info', text: 'Checking the photo…' };
    try {
      const image = await prepareReference(file);
      await connection.connect();
      await connection.enrollImage(image);
      this.#enrolDone('Reference photo added.');
    } catch (error) {
      this.#enrolFailed(error);
    }
  }

  async #useCamera(): Promise<void> {
    if (this._camera === 'off') await this.start();
    if (this._camera === 'on') this._enrolCapture = true;
  }

  async #captureReference(): Promise<void> {
    const connection = this.#connection;
    if (!connection || this._enrolBusy) return;
    this._enrolBusy = 'frame';
    this._enrolNote = { kind: 'info', text: 'Hold still and look at the camera…' };
    try {
      await connection.enrollFromFrame();
      this.#enrolDone('Reference captured from the camera.');
    } catch (error) {
      this.#enrolFailed(error);
    }
  }

  #enrolDone(text: string): void {
    this._enrolBusy = null;
    this._enrolCapture = false;
    this._enrolled = true;
    this._enrolNote = { kind: 'done', text };
    this.#setEnrolFile(null);
  }

  #enrolFailed(error: unknown): void {
    this._enrolBusy = null;
    const code = error instanceof LiveConnectionError ? error.code : 'UNKNOWN';
    if (code === 'SUPERSEDED' || code === 'CLOSED') return;
    this._enrolNote = {
      kind: 'error',
      text: ENROL_ERROR_TEXT[code] ?? `The reference could not be used (${code}). Try again.`,
    };
  }

  // Rendering -------------------------------------------------------------------------------------

  #statusText(): string {
    const transport = this.transport === 'webrtc' ? 'WebRTC' : 'JPEG frames';
    switch (this.state) {
      // The details are in the alert below the verdict.
      case 'error':
        if (this._failure?.code.startsWith('CAMERA_')) return 'The camera is not available.';
        return this._failure?.code === 'RECONNECT_FAILED' ? 'Disconnected.' : 'The session has ended.';
      case 'finished':
        return this.verdict === 'pending'
          ? 'Finished.'
          : `Finished. Result: ${VERDICT_TEXT[this.verdict].label}.`;
      case 'connecting':
        return this._camera === 'requesting' ? 'Waiting for camera permission…' : 'Connecting to the server…';
      case 'reconnecting':
        return `Connection lost. Reconnecting (attempt ${this._attempt})…`;
      case 'enrolling':
        return this._camera === 'on'
          ? 'Camera on. Add a reference photo to start checking.'
          : 'Add a reference photo to begin.';
      case 'degraded':
        return `Server busy: lowering frame rate to ${this._analysisFps} fps.`;
      case 'streaming':
        return this._flowing
          ? `Live: streaming over ${transport}${this._analysisFps ? ` at ${this._analysisFps} fps` : ''}.`
          : `Starting video (${this.transport === 'webrtc' ? 'trying WebRTC' : transport})…`;
      case 'idle':
        if (!this.token) return 'Waiting for a verification session.';
        return this._status === 'open' ? 'Ready. Press Start to turn on the camera.' : 'Not connected.';
    }
  }

  #verdictView() {
    const live = this._camera === 'on' && this._enrolled === true;
    const shown = live || this.verdict !== 'pending';
    const { label, icon } = VERDICT_TEXT[this.verdict];
    return html`<div
      class="verdict ${shown ? `v-${this.verdict}` : 'v-none'}"
      part="verdict"
      role="status"
      aria-live="polite"
      aria-atomic="true"
      data-testid="fv-verdict"
    >
      ${
        shown
          ? html`<span class="icon" aria-hidden="true">${icon}</span><span>${label}</span>`
          : html`<span class="icon" aria-hidden="true">–</span><span>Not checking yet</span>`
      }
    </div>`;
  }

  #enrolView() {
    if (this._enrolled !== false || !this.#connection) {
      return this._enrolNote?.kind === 'done'
        ? html`<p class="note done" data-testid="fv-enrolled">
            <span aria-hidden="true">✓</span> ${this._enrolNote.text}
          </p>`
        : nothing;
    }
    const busy = this._enrolBusy !== null;
    const note = this._enrolNote;
    return html`<section class="enrol" part="enrol" aria-labelledby="enrol-title">
      <h3 id="enrol-title">Add a reference photo</h3>
      <p class="muted">
        Your live camera is compared with this photo. Use a clear, front-facing photo of one person.
      </p>
      <div class="option">
        <label for="ref-file">Upload a photo</label>
        <input
          id="ref-file"
          type="file"
          accept="image/jpeg,image/png,image/webp"
          data-testid="fv-enrol-file"
          ?disabled=${busy}
          @change=${this.#onFileChange}
        />
        ${
          this._enrolPreview
            ? html`<img class="preview" src=${this._enrolPreview} alt="The selected reference photo" />`
            : nothing
        }
        <button
          type="button"
          data-testid="fv-enrol-submit"
          ?disabled=${!this._enrolFile || busy}
          @click=${this.#enrolFromFile}
        >
          Use this photo
        </button>
      </div>
      <p class="or"><span>or</span></p>
      <div class="option">
        ${
          this._enrolCapture
            ? html`<p class="muted">Look straight at the camera, then take the photo.</p>
                <button
                  type="button"
                  data-testid="fv-enrol-capture"
                  ?disabled=${busy}
                  @click=${this.#captureReference}
                >
                  Take reference photo
                </button>`
            : html`<button
                type="button"
                class="secondary"
                data-testid="fv-enrol-camera"
                ?disabled=${busy || this._camera === 'requesting'}
                @click=${this.#useCamera}
              >
                Use my camera
              </button>`
        }
      </div>
      <p
        class="note ${note?.kind ?? ''}"
        role=${note?.kind === 'error' ? 'alert' : 'status'}
        data-testid="fv-enrol-message"
      >
        ${note?.text ?? ''}
      </p>
    </section>`;
  }

  override render() {
    const cameraOn = this._camera === 'on';
    const needsNewToken = this._failure !== null && NEEDS_NEW_TOKEN.has(this._failure.code);
    const canStart =
      Boolean(this.token) && this._camera === 'off' && !this.#starting && !needsNewToken && !this._finished;
    const canStop = this._camera !== 'off' || (this.#connection !== null && this._status !== 'closed');
    const live = cameraOn && this._enrolled === true;
    return html`
      <div class="widget">
        <div class="stage" part="stage" style="aspect-ratio: ${this._aspect}">
          <video
            part="video"
            muted
            playsinline
            autoplay
            aria-label="Your camera (mirrored)"
            ?hidden=${!cameraOn}
            @loadedmetadata=${this.#onVideoSize}
            @resize=${this.#onVideoSize}
          ></video>
          <div class="overlay" aria-hidden="true">
            ${
              cameraOn && this._box
                ? html`<div
                    class="box b-${live ? this.verdict : 'pending'}"
                    part="box"
                    data-testid="fv-box"
                    style="left:${this._box.left}%;top:${this._box.top}%;width:${this._box.width}%;height:${this._box.height}%"
                  ></div>`
                : nothing
            }
          </div>
          ${
            cameraOn
              ? nothing
              : html`<div class="placeholder">
                  <span class="camera-icon" aria-hidden="true">◉</span>
                  <span>${this._camera === 'requesting' ? 'Waiting for the camera…' : 'Camera is off'}</span>
                </div>`
          }
        </div>
        <div class="panel" part="panel">
          <p class="status s-${this.state}" part="status" data-testid="fv-status">
            <span class="dot" aria-hidden="true"></span>${this.#statusText()}
          </p>
          ${this.#verdictView()}
          <fv-score-gauge
            part="gauge"
            .value=${live ? this.similarity : null}
            .threshold=${this._thresholdSimilarity}
          ></fv-score-gauge>
          <p class="muted small">
            ${
              live && this.distance !== null
                ? html`Distance
                  ${this.distance.toFixed(3)}${
                    this._threshold !== null ? html` (match below ${this._threshold.toFixed(3)})` : nothing
                  }`
                : html`&nbsp;`
            }
          </p>
          <ul
            class="hints"
            part="hints"
            data-testid="fv-hints"
            ?hidden=${!cameraOn || this._quality.length === 0}
          >
            ${this._quality.map((flag) => html`<li><span aria-hidden="true">⚠</span> ${QUALITY_TEXT[flag]}</li>`)}
          </ul>
          ${
            this._failure
              ? html`<p class="error" role="alert" data-testid="fv-error">${this._failure.message}</p>`
              : nothing
          }
          ${this.#enrolView()}
          <div class="actions">
            <button
              type="button"
              part="start-button"
              data-testid="fv-start"
              ?disabled=${!canStart}
              @click=${() => void this.start()}
            >
              Start
            </button>
            <button
              type="button"
              class="secondary"
              part="stop-button"
              data-testid="fv-stop"
              ?disabled=${!canStop}
              @click=${() => this.stop()}
            >
              Stop
            </button>
          </div>
        </div>
      </div>
    `;
  }

  #onVideoSize(event: Event): void {
    const video = event.target as HTMLVideoElement;
    if (video.videoWidth && video.videoHeight) this._aspect = `${video.videoWidth} / ${video.videoHeight}`;
  }

  static override styles = css`
    :host {
      display: block;
      container-type: inline-size;
      color: var(--fv-text, #1f2430);
      --fv-accent: #0b57d0;
      --fv-ok: #1b7f3b;
      --fv-bad: #b3261e;
      --fv-warn: #8a5300;
      --fv-muted: #4a5361;
      --fv-surface: #ffffff;
      --fv-border: #c4cad3;
    }
    [hidden] {
      display: none !important;
    }
    .widget {
      display: grid;
      grid-template-columns: minmax(0, 3fr) minmax(0, 2fr);
      gap: 1.25rem;
      align-items: start;
    }
    @container (max-width: 640px) {
      .widget {
        grid-template-columns: minmax(0, 1fr);
        gap: 0.75rem;
      }
    }
    .stage {
      position: relative;
      width: 100%;
      background: #1f2430;
      border-radius: 12px;
      overflow: hidden;
    }
    video {
      display: block;
      width: 100%;
      height: 100%;
      object-fit: fill;
      /* Mirrored for the user; the frames sent are not, and the overlay is mirrored the same way. */
      transform: scaleX(-1);
    }
    .overlay {
      position: absolute;
      inset: 0;
      transform: scaleX(-1);
      pointer-events: none;
    }
    .box {
      position: absolute;
      border: 3px solid #f2c200;
      border-radius: 10px;
      box-shadow: 0 0 0 1px rgb(0 0 0 / 0.6);
      transition:
        left 80ms linear,
        top 80ms linear,
        width 80ms linear,
        height 80ms linear;
    }
    .box.b-matched {
      border-color: #3ddc84;
    }
    .box.b-not_matched {
      border-color: #ff6b5e;
    }
    .placeholder {
      position: absolute;
      inset: 0;
      display: flex;
      flex-direction: column;
      gap: 0.5rem;
      align-items: center;
      justify-content: center;
      color: #f1f3f6;
      text-align: center;
      padding: 1rem;
    }
    .camera-icon {
      font-size: 2rem;
    }
    .panel {
      display: flex;
      flex-direction: column;
      gap: 0.75rem;
      min-width: 0;
    }
    p {
      margin: 0;
    }
    .muted {
      color: var(--fv-muted);
    }
    .small {
      font-size: 0.875rem;
      font-variant-numeric: tabular-nums;
    }
    .status {
      display: flex;
      gap: 0.5rem;
      align-items: baseline;
      font-size: 0.9375rem;
    }
    .dot {
      flex: none;
      width: 0.625rem;
      height: 0.625rem;
      border-radius: 50%;
      background: var(--fv-muted);
    }
    .s-streaming .dot {
      background: var(--fv-ok);
    }
    .s-degraded .dot,
    .s-reconnecting .dot,
    .s-connecting .dot,
    .s-enrolling .dot {
      background: var(--fv-warn);
    }
    .s-error .dot {
      background: var(--fv-bad);
    }
    .verdict {
      display: flex;
      align-items: center;
      gap: 0.625rem;
      padding: 0.625rem 0.875rem;
      border-radius: 10px;
      font-size: 1.375rem;
      font-weight: 700;
      color: #fff;
      background: var(--fv-muted);
    }
    .verdict .icon {
      display: inline-grid;
      place-items: center;
      width: 1.75rem;
      height: 1.75rem;
      border-radius: 50%;
      background: rgb(255 255 255 / 0.22);
      font-size: 1.125rem;
    }
    .v-none {
      color: var(--fv-muted);
      background: #eef0f3;
      font-weight: 600;
      font-size: 1.125rem;
    }
    .v-none .icon {
      background: #dde1e7;
    }
    .v-matched {
      background: var(--fv-ok);
    }
    .v-not_matched {
      background: var(--fv-bad);
    }
    .v-no_face,
    .v-multiple_faces {
      background: var(--fv-warn);
    }
    .hints {
      margin: 0;
      padding: 0.5rem 0.75rem;
      list-style: none;
      border-left: 4px solid var(--fv-warn);
      background: #fff6e5;
      color: #5c3900;
      border-radius: 4px;
      font-size: 0.9375rem;
    }
    .error {
      padding: 0.5rem 0.75rem;
      border-left: 4px solid var(--fv-bad);
      background: #fdecea;
      color: #7a1712;
      border-radius: 4px;
    }
    .enrol {
      display: flex;
      flex-direction: column;
      gap: 0.625rem;
      padding: 0.875rem;
      border: 1px solid var(--fv-border);
      border-radius: 10px;
      background: var(--fv-surface);
    }
    .enrol h3 {
      margin: 0;
      font-size: 1.0625rem;
    }
    .option {
      display: flex;
      flex-direction: column;
      gap: 0.5rem;
      align-items: flex-start;
    }
    .option label {
      font-weight: 600;
    }
    input[type='file'] {
      max-width: 100%;
      font: inherit;
      font-size: 0.875rem;
    }
    .preview {
      max-width: 8rem;
      max-height: 8rem;
      border-radius: 8px;
      border: 1px solid var(--fv-border);
      object-fit: cover;
    }
    .or {
      display: flex;
      align-items: center;
      gap: 0.5rem;
      color: var(--fv-muted);
      font-size: 0.875rem;
    }
    .or::before,
    .or::after {
      content: '';
      flex: 1;
      border-top: 1px solid var(--fv-border);
    }
    .note:empty {
      display: none;
    }
    .note.error {
      color: #7a1712;
    }
    .note.done {
      color: var(--fv-ok);
      font-weight: 600;
    }
    .actions {
      display: flex;
      gap: 0.75rem;
      flex-wrap: wrap;
    }
    button {
      font: inherit;
      font-weight: 600;
      min-height: 44px;
      padding: 0.5rem 1.25rem;
      border-radius: 8px;
      border: 2px solid var(--fv-accent);
      background: var(--fv-accent);
      color: #fff;
      cursor: pointer;
    }
    button.secondary {
      background: transparent;
      color: var(--fv-accent);
    }
    button:disabled {
      cursor: not-allowed;
      border-color: #a9b0bb;
      background: #e3e6eb;
      color: #4a5361;
    }
    button:focus-visible,
    input:focus-visible {
      outline: 3px solid #f2c200;
      outline-offset: 2px;
      box-shadow: 0 0 0 5px #1f2430;
    }
  `;
}

customElements.define('fv-verify', FvVerify);

declare global {
  interface HTMLElementTagNameMap {
    'fv-verify': FvVerify;
  }
}
