import { LitElement, html, nothing, type PropertyValues } from 'lit';
import type { Decision, LivenessStatus, ScoreMessage, Verdict } from '@fv/protocol';
import { CameraController, CameraError } from '../controllers/camera-controller.ts';
import { ConnectionController } from '../controllers/connection-controller.ts';
import { EnrolmentController } from '../controllers/enrolment-controller.ts';
import { LivenessController } from '../controllers/liveness-controller.ts';
import type { LiveConnectionEvents, LiveError, Transport } from '../lib/live-connection.ts';
import { decisionView, livenessView, stageCue } from './fv-verify.liveness.ts';
import { fvVerifyLivenessStyles } from './fv-verify.liveness.styles.ts';
import { fvVerifyStyles } from './fv-verify.styles.ts';
import { FATAL_TEXT, NEEDS_NEW_TOKEN, statusText } from './fv-verify.text.ts';
import {
  actionButtons,
  boxInPercent,
  cameraPlaceholder,
  distanceLine,
  enrolStep,
  faceBox,
  hintsView,
  verdictView,
  type BoxInPercent,
  type EnrolStepActions,
} from './fv-verify.views.ts';
import './fv-score-gauge.ts';

export type VerifyState =
  'idle' | 'connecting' | 'enrolling' | 'streaming' | 'degraded' | 'reconnecting' | 'finished' | 'error';

/** `detail` of each event `<fv-verify>` fires, by event name. */
export interface FvVerifyEventMap {
  'fv-started': { sessionId: string; transport: Transport };
  'fv-score': { score: ScoreMessage };
  'fv-verdict': { verdict: Verdict; distance: number | null; similarity: number | null };
  'fv-state': { state: VerifyState };
  'fv-challenge': Omit<LiveConnectionEvents['challenge'], 'type'>;
  'fv-liveness': Omit<LiveConnectionEvents['liveness'], 'type'>;
  'fv-error': LiveError;
  'fv-finished': { verdict: Verdict; distance: number | null; decision: Decision; reason: string };
}

const round4 = (value: number | null): number | null =>
  value === null ? null : Math.round(value * 1e4) / 1e4;

/**
 * `<fv-verify>`: live face verification. Connects with a single-use session `token`, asks for a
 * reference photo when the session has none (upload, or capture from the camera), then streams the
 * camera (WebRTC, or JPEG frames over the WebSocket when WebRTC fails) and shows the face box, a
 * similarity gauge and the verdict. With active liveness (the session's choice) it then asks for
 * the server's challenges one by one (a prompt with a glyph, a countdown, each step's outcome, a
 * retry when the session allows one) and shows the decision: Verified only when the face matches
 * and liveness passed. Reconnects by itself after a dropped connection.
 *
 * The widget connects as soon as it has a `token` (that spends the token; the connection keeps the
 * next one). With `autostart` and an already enrolled session the camera starts at once;
 * otherwise the user presses Start.
 *
 * Attributes (inputs): `token`, `server` (base URL; default: same origin), `fps` (analysis rate,
 * default 10), `autostart` (boolean). Reflected, read-only: `verdict`
 * (`pending|matched|not_matched|no_face|multiple_faces`), `distance` and `similarity` (absent when
 * there is no reading), `state` (`idle|connecting|enrolling|streaming|degraded|reconnecting|finished|error`),
 * `transport` (`webrtc|jpeg`, absent when not streaming), `liveness` (`off|pending|passed|failed`,
 * absent until the server says) and `decision` (`pending|verified|not_verified`).
 *
 * Stable test hooks (`data-testid` in the shadow root): `fv-enrol-file` (reference file input),
 * `fv-enrol-submit` ("Use this photo"), `fv-enrol-camera` ("Use my camera"), `fv-enrol-capture`
 * ("Take reference photo"), `fv-enrol-message`, `fv-enrolled`, `fv-start`, `fv-stop`,
 * `fv-status`, `fv-verdict`, `fv-box`, `fv-hints`, `fv-error`, `fv-decision`, `fv-liveness` (with
 * `data-phase`), `fv-challenge` (the prompt, with `data-action`), `fv-countdown`, `fv-liveness-step`
 * (with `data-status`), `fv-liveness-retry`, `fv-cue` (the prompt over the preview).
 *
 * The camera, the connection, the enrolment step and liveness are reactive controllers
 * (`src/controllers/`); this element holds the properties, fires the events and renders. It has no
 * slots: everything it shows is in its shadow root, styled through the parts below.
 *
 * @fires fv-started - `{sessionId, transport}`: the first score after Start (media reaches the server)
 * @fires fv-score - `{score}`: every score message
 * @fires fv-verdict - `{verdict, distance, similarity}`: the verdict changed
 * @fires fv-state - `{state}`: the `state` attribute changed
 * @fires fv-challenge - `{index, count, action, deadline, windowMs}`: a liveness challenge was asked
 * @fires fv-liveness - `{liveness, decision}`: liveness changed (a sequence drawn, a step decided)
 * @fires fv-error - `{code, message, fatal}`: server, connection or camera errors (camera codes:
 *   `CAMERA_DENIED`, `CAMERA_UNAVAILABLE`, `CAMERA_IN_USE`, not fatal: Start retries)
 * @fires fv-finished - `{verdict, distance, decision, reason}`: `stop()` (reason `stopped`), or the session
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
 * @csspart decision - the decision (Verified / Not verified; an `aria-live="polite"` region)
 * @csspart liveness - the liveness step: prompt (an `aria-live="polite"` region), countdown, steps
 * @csspart retry-button - "Try again" after a failed liveness sequence
 * @csspart enrol - the enrolment step
 * @csspart start-button
 * @csspart stop-button
 */
export class FvVerify extends LitElement {
  static override styles = [fvVerifyStyles, fvVerifyLivenessStyles];

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
    liveness: { type: String, reflect: true },
    decision: { type: String, reflect: true },
    _failure: { state: true },
    _finished: { state: true },
    _box: { state: true },
    _quality: { state: true },
    _threshold: { state: true },
    _thresholdSimilarity: { state: true },
    _aspect: { state: true },
  };

  declare token: string;
  declare server: string;
  declare fps: number;
  declare autostart: boolean;
  declare verdict: Verdict;
  declare distance: number | null;
  declare similarity: number | null;
  declare state: VerifyState;
  declare transport: Transport | null;
  declare liveness: LivenessStatus | null;
  declare decision: Decision;

  /** What stopped the widget (camera or fatal connection error). */
  declare _failure: { code: string; message: string } | null;
  declare _finished: boolean;
  declare _box: BoxInPercent | null;
  declare _quality: ScoreMessage['quality'];
  declare _threshold: number | null;
  declare _thresholdSimilarity: number | null;
  declare _aspect: string;

  readonly #camera = new CameraController(this, { preview: () => this.#video() });
  readonly #link = new ConnectionController(this, {
    onWelcome: (welcome) => {
      this.#live.welcome(welcome.liveness);
      if (welcome.enrolled && this.autostart && !this._finished && this.#camera.status === 'off') {
        void this.start();
      }
    },
    onMedia: ({ sessionId, transport }) => {
      if (this.#startedFired) return;
      this.#startedFired = true;
      this.#queue('fv-started', { sessionId, transport });
    },
    onScore: (event) => this.#onScore(event),
    onState: ({ liveness }) => this.#live.update(liveness),
    onChallenge: ({ type: _type, ...challenge }) => {
      this.#live.asked(challenge);
      this.#queue('fv-challenge', challenge);
    },
    onLiveness: ({ liveness, decision }) => {
      this.#live.changed(liveness, decision);
      this.#queue('fv-liveness', { liveness, decision });
    },
    onError: (error) => {
      this.#live.errored();
      this.#queue('fv-error', error);
    },
    onEnded: ({ code }) => this.#onEnded(code),
  });
  readonly #enrolment = new EnrolmentController(this, { onEnrolled: () => this.#link.markEnrolled() });
  readonly #live = new LivenessController(this);

  /** Aborted when the current connection is closed: cancels the enrolment step that runs on it. */
  #session: AbortController | null = null;
  /** Aborted when the camera is released: cancels a camera start in progress. */
  #cameraRun: AbortController | null = null;
  #starting = false;
  /** A Start is active (camera on, streaming wanted): for `fv-started` and `fv-finished`. */
  #active = false;
  #startedFired = false;
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
    this.liveness = null;
    this.decision = 'pending';
    this._failure = null;
    this._finished = false;
    this._box = null;
    this._quality = [];
    this._threshold = null;
    this._thresholdSimilarity = null;
    this._aspect = '4 / 3';
  }

  // Public API ------------------------------------------------------------------------------------

  /** Turns the camera on and streams it (connecting first when needed). */
  async start(): Promise<void> {
    if (!this.token || this.#starting || this.#camera.status !== 'off' || this._finished) return;
    if (this._failure && NEEDS_NEW_TOKEN.has(this._failure.code)) return;
    this.#starting = true;
    this._failure = null;
    this._finished = false;
    try {
      if (!this.#link.connection) this.#connect();
      const connection = this.#link.connection;
      // No connection: the token was refused (#connect reported it).
      if (!connection) return;
      this.#cameraRun = new AbortController();
      const stream = await this.#camera.start(this.#cameraRun.signal);
      if (!stream) return;
      if (connection !== this.#link.connection) {
        this.#camera.stop();
        return;
      }
      this.#active = true;
      this.#startedFired = false;
      this.#link.flowing = false;
      await connection.connect();
      const video = this.#video();
      if (connection === this.#link.connection && this.#camera.stream === stream && video) {
        connection.startStreaming(stream, video);
      }
    } catch (error) {
      if (error instanceof CameraError) {
        this._failure = { code: error.code, message: error.message };
        this.#queue('fv-error', { code: error.code, message: error.message, fatal: false });
      }
      // Connection failures arrive through the connection controller (onError, onEnded).
    } finally {
      this.#starting = false;
    }
  }

  /**
   * Says bye, releases the camera and fires `fv-finished`. Bye ends the session on the server (its
   * tenant is told the result), so verifying again needs a new session (a new `token`).
   */
  stop(): void {
    const wasActive = this.#active || this.#link.connection !== null;
    this.#closeConnection();
    this.#releaseCamera();
    if (!wasActive) return;
    this._finished = true;
    this.#queue('fv-finished', this.#result('stopped'));
  }

  // Lifecycle -------------------------------------------------------------------------------------

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.hasUpdated && this.token && !this.#link.connection) this.#connect();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback(); // the controllers close the connection and stop the camera
    this.#closeConnection();
    this.#releaseCamera();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('token') && changed.get('token') !== undefined) this.#resetSession();
    this.transport = this.#link.transport;
    this.liveness = this.#live.status;
    this.decision = this.#live.decision;
    this.state = this.#deriveState();
    if (changed.has('fps') && this.fps >= 1 && this.fps <= 30) this.#link.setFps(this.fps);
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('token') && this.token && !this.#link.connection && this.isConnected) this.#connect();
    if (changed.has('state') && changed.get('state') !== undefined) {
      this.#dispatch('fv-state', { state: this.state });
    }
    for (const { name, detail } of this.#queued.splice(0)) this.#dispatch(name, detail as never);
  }

  // Session ---------------------------------------------------------------------------------------

  #connect(): void {
    this.#closeConnection();
    const session = new AbortController();
    const options = { token: this.token, server: this.server || undefined, fps: this.#fpsOrDefault() };
    try {
      this.#link.open(options, session.signal);
    } catch (error) {
      this._failure = { code: 'UNAUTHORIZED', message: FATAL_TEXT['UNAUTHORIZED']! };
      this.#queue('fv-error', { code: 'UNAUTHORIZED', message: (error as Error).message, fatal: true });
      return;
    }
    this.#session = session;
    this._failure = null;
    this._finished = false;
  }

  /** Closes the connection and cancels what ran on it (an enrolment in flight, the capture step). */
  #closeConnection(): void {
    const session = this.#session;
    this.#session = null;
    session?.abort();
  }

  /** The connection ended by itself: a fatal error, or reconnecting gave up. */
  #onEnded(code: string): void {
    this.#session = null; // nothing left to close; an enrolment in flight gets the error
    this._failure = { code, message: FATAL_TEXT[code] ?? `The session ended (${code}).` };
    this.#releaseCamera();
    // A session that got a welcome (so knows whether it is enrolled) reports how it finished.
    if (this.#link.enrolled !== null) {
      this.#queue('fv-finished', this.#result(code));
    }
  }

  #releaseCamera(): void {
    this.#active = false;
    this.#cameraRun?.abort();
    this.#cameraRun = null;
    this.#camera.stop();
    this._box = null;
    this._quality = [];
  }

  /** A new token: a new session, nothing carries over. */
  #resetSession(): void {
    this.#closeConnection();
    this.#releaseCamera();
    this.#link.reset();
    this.#enrolment.reset();
    this.#live.reset();
    this._failure = null;
    this._finished = false;
    this._threshold = null;
    this._thresholdSimilarity = null;
    this.distance = null;
    this.similarity = null;
    if (this.verdict !== 'pending') {
      this.verdict = 'pending';
      this.#queue('fv-verdict', { verdict: 'pending', distance: null, similarity: null });
    }
  }

  #onScore({ score, frameWidth, frameHeight }: LiveConnectionEvents['score']): void {
    if (this.#camera.status !== 'on') return;
    const distance = round4(score.smoothedDistance ?? score.distance);
    const similarity = round4(score.similarity);
    this.distance = distance;
    this.similarity = similarity;
    this._threshold = score.threshold;
    this._quality = score.quality;
    // Marked from the first score on, as the distance threshold is; welcome/state say where it sits.
    this._thresholdSimilarity = this.#link.thresholdSimilarity;
    this._box = score.box ? boxInPercent(score.box, frameWidth, frameHeight) : null;
    this.#live.update(score.liveness, score.decision);
    this.#queue('fv-score', { score });
    if (score.verdict !== this.verdict) {
      this.verdict = score.verdict;
      this.#queue('fv-verdict', { verdict: score.verdict, distance, similarity });
    }
  }

  #deriveState(): VerifyState {
    const camera = this.#camera.status;
    const status = this.#link.status;
    if (this._failure) return 'error';
    if (this._finished) return 'finished';
    if (status === 'reconnecting') return 'reconnecting';
    if (status === 'connecting' || camera === 'requesting') return 'connecting';
    if (status !== 'open') return 'idle';
    if (this.#link.enrolled === false) return 'enrolling';
    if (camera === 'on') return this.#link.degraded ? 'degraded' : 'streaming';
    return 'idle';
  }

  #result(reason: string): FvVerifyEventMap['fv-finished'] {
    return { verdict: this.verdict, distance: this.distance, decision: this.#live.decision, reason };
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

  #video(): HTMLVideoElement | null {
    return this.renderRoot?.querySelector('video') ?? null;
  }

  // Enrolment -------------------------------------------------------------------------------------

  readonly #enrolActions: EnrolStepActions = {
    onFileChange: (event) => this.#enrolment.choose((event.target as HTMLInputElement).files?.[0] ?? null),
    onSubmit: () => {
      const connection = this.#link.connection;
      if (connection && this.#session) void this.#enrolment.enrolFile(connection, this.#session.signal);
    },
    onUseCamera: async () => {
      if (this.#camera.status === 'off') await this.start();
      if (this.#camera.status === 'on' && this.#session) this.#enrolment.offerCapture(this.#session.signal);
    },
    onCapture: () => {
      const connection = this.#link.connection;
      if (connection && this.#session) void this.#enrolment.captureFrame(connection, this.#session.signal);
    },
  };

  // Rendering -------------------------------------------------------------------------------------

  override render() {
    const camera = this.#camera.status;
    const cameraOn = camera === 'on';
    const needsNewToken = this._failure !== null && NEEDS_NEW_TOKEN.has(this._failure.code);
    const canStart = !!this.token && camera === 'off' && !this.#starting && !needsNewToken && !this._finished;
    const canStop = camera !== 'off' || (this.#link.connection !== null && this.#link.status !== 'closed');
    const live = cameraOn && this.#link.enrolled === true;
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
            ${cameraOn ? faceBox(this._box, live ? this.verdict : 'pending') : nothing}
          </div>
          ${cameraOn ? stageCue(this.#live) : cameraPlaceholder(camera === 'requesting')}
        </div>
        <div class="panel" part="panel">
          <p class="status s-${this.state}" part="status" data-testid="fv-status">
            <span class="dot" aria-hidden="true"></span>${statusText(this, camera, this.#link)}
          </p>
          ${decisionView(this.decision)}
          ${livenessView(this.#live, () => this.#link.connection?.retryLiveness() && this.#live.retryAsked())}
          ${verdictView(this.verdict, live)}
          <fv-score-gauge
            part="gauge"
            .value=${live ? this.similarity : null}
            .threshold=${this._thresholdSimilarity}
          ></fv-score-gauge>
          ${distanceLine(live ? this.distance : null, this._threshold)}
          ${hintsView(this._quality, !cameraOn || this._quality.length === 0)}
          ${
            this._failure
              ? html`<p class="error" role="alert" data-testid="fv-error">${this._failure.message}</p>`
              : nothing
          }
          ${enrolStep(
            this.#enrolment,
            this.#link.enrolled === false && this.#link.connection !== null,
            camera === 'requesting',
            this.#enrolActions,
          )}
          ${actionButtons({ canStart, canStop, onStart: () => void this.start(), onStop: () => this.stop() })}
        </div>
      </div>
    `;
  }

  #onVideoSize(event: Event): void {
    const video = event.target as HTMLVideoElement;
    if (video.videoWidth && video.videoHeight) this._aspect = `${video.videoWidth} / ${video.videoHeight}`;
  }
}

customElements.define('fv-verify', FvVerify);

declare global {
  interface HTMLElementTagNameMap {
    'fv-verify': FvVerify;
  }
}
