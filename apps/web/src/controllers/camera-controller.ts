import type { ReactiveController, ReactiveControllerHost } from 'lit';

export type CameraStatus = 'off' | 'requesting' | 'on';
export type CameraErrorCode = 'CAMERA_DENIED' | 'CAMERA_UNAVAILABLE' | 'CAMERA_IN_USE';

/** Why the camera could not start; `message` is written for the user. */
export class CameraError extends Error {
  constructor(
    readonly code: CameraErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CameraError';
  }
}

export interface CameraControllerOptions {
  /** The `<video>` the host renders for the preview (looked up once the host has updated). */
  preview(): HTMLVideoElement | null;
  /** @defaultValue {@link DEFAULT_CAMERA_CONSTRAINTS} */
  constraints?: MediaStreamConstraints;
}

/** The front camera at about 640×480, no audio. */
export const DEFAULT_CAMERA_CONSTRAINTS: MediaStreamConstraints = {
  audio: false,
  video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 } },
};

/**
 * The user's camera as a Lit reactive controller: `getUserMedia` with its failures in plain words
 * ({@link CameraError}), the preview `<video>`, and the tracks stopped when the camera is stopped,
 * the start's signal aborts, or the host leaves the document. `status` is reactive state of the host.
 */
export class CameraController implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  readonly #options: CameraControllerOptions;
  #stream: MediaStream | null = null;
  /** The start in progress or the camera running; replaced (so a stale start stops) by stop(). */
  #run: { signal: AbortSignal; onAbort: () => void } | null = null;

  status: CameraStatus = 'off';

  constructor(host: ReactiveControllerHost, options: CameraControllerOptions) {
    this.#host = host;
    this.#options = options;
    host.addController(this);
  }

  /** The stream while the camera is on (or about to be). */
  get stream(): MediaStream | null {
    return this.#stream;
  }

  hostDisconnected(): void {
    this.stop();
  }

  /**
   * Asks for the camera and plays it in the preview. Resolves with the stream once it plays, or
   * null when {@link stop} was called or `signal` aborted meanwhile (the camera is then off);
   * rejects with a {@link CameraError}. Aborting `signal` later stops the camera.
   */
  async start(signal: AbortSignal): Promise<MediaStream | null> {
    if (this.status !== 'off' || signal.aborted) return null;
    const run = { signal, onAbort: () => this.#run === run && this.stop() };
    this.#run = run;
    signal.addEventListener('abort', run.onAbort, { once: true });
    this.#set('requesting');
    let stream: MediaStream;
    try {
      stream = await openCamera(this.#options.constraints ?? DEFAULT_CAMERA_CONSTRAINTS);
    } catch (error) {
      if (this.#run === run) this.stop();
      throw error;
    }
    if (this.#run !== run) {
      stopTracks(stream);
      return null;
    }
    this.#stream = stream;
    await this.#host.updateComplete;
    const video = this.#options.preview();
    if (this.#run !== run || !video) {
      if (this.#run === run) this.stop();
      return null;
    }
    video.srcObject = stream;
    await video.play().catch(() => undefined);
    if (this.#run !== run) return null;
    this.#set('on');
    return stream;
  }

  /** Stops the tracks and clears the preview. Idempotent. */
  stop(): void {
    const run = this.#run;
    this.#run = null;
    run?.signal.removeEventListener('abort', run.onAbort);
    if (this.#stream) stopTracks(this.#stream);
    this.#stream = null;
    const video = this.#options.preview();
    if (video) video.srcObject = null;
    this.#set('off');
  }

  /** Same as {@link stop}. */
  close(): void {
    this.stop();
  }

  #set(status: CameraStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.#host.requestUpdate();
  }
}

function stopTracks(stream: MediaStream): void {
  for (const track of stream.getTracks()) track.stop();
}

async function openCamera(constraints: MediaStreamConstraints): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new CameraError(
      'CAMERA_UNAVAILABLE',
      'This browser cannot use a camera on this page. Open it over https in a current browser.',
    );
  }
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
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
