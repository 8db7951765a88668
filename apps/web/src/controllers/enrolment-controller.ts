import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { LiveConnection } from '../lib/live-connection.ts';
import { LiveConnectionError } from '../lib/live-connection-error.ts';
import { prepareReference } from '../lib/reference-image.ts';

export type EnrolSource = 'image' | 'frame';

/** The line under the enrolment step. */
export interface EnrolNote {
  readonly kind: 'info' | 'error' | 'done';
  readonly text: string;
}

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

export interface EnrolmentControllerOptions {
  /** The session took the reference. */
  onEnrolled(): void;
}

/**
 * The enrolment step as a Lit reactive controller: a chosen photo (checked, previewed, scaled when
 * large, then sent) or a capture from the live camera becomes the session's reference. Each flow
 * takes the signal of the connection it runs on: when that connection is closed the flow is
 * dropped quietly (its reply can no longer come). The fields are reactive state of the host.
 */
export class EnrolmentController implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  readonly #options: EnrolmentControllerOptions;

  /** The photo chosen for upload and its object URL (for the preview). */
  file: File | null = null;
  preview: string | null = null;
  /** A reference is being checked: from the chosen photo or from the camera. */
  busy: EnrolSource | null = null;
  /** The camera runs for the capture option ("Take reference photo" is offered). */
  capture = false;
  note: EnrolNote | null = null;

  constructor(host: ReactiveControllerHost, options: EnrolmentControllerOptions) {
    this.#host = host;
    this.#options = options;
    host.addController(this);
  }

  hostDisconnected(): void {
    // The photo and its preview stay: the host may come back. What ran on the connection does not.
    this.cancel();
  }

  /** The file input changed: previews an image, explains anything else. */
  choose(file: File | null): void {
    this.note = null;
    if (file && !file.type.startsWith('image/')) {
      this.#setFile(null);
      this.note = { kind: 'error', text: ENROL_ERROR_TEXT['UNSUPPORTED_IMAGE']! };
    } else {
      this.#setFile(file);
    }
    this.#host.requestUpdate();
  }

  /** Sends the chosen photo as the reference. */
  async enrolFile(connection: LiveConnection, signal: AbortSignal): Promise<void> {
    const file = this.file;
    if (!file || this.busy || signal.aborted) return;
    this.#begin('image', 'Checking the photo…', signal);
    try {
      const image = await prepareReference(file);
      await connection.connect();
      await connection.enrollImage(image);
      if (!signal.aborted) this.#done('Reference photo added.');
    } catch (error) {
      if (!signal.aborted) this.#failed(error);
    }
  }

  /** Offers the capture option (the camera is on) until `signal` aborts or a reference is taken. */
  offerCapture(signal: AbortSignal): void {
    if (signal.aborted) return;
    this.capture = true;
    signal.addEventListener('abort', () => this.cancel(), { once: true });
    this.#host.requestUpdate();
  }

  /** Asks the server to take the face of the next camera frame as the reference. */
  async captureFrame(connection: LiveConnection, signal: AbortSignal): Promise<void> {
    if (this.busy || signal.aborted) return;
    this.#begin('frame', 'Hold still and look at the camera…', signal);
    try {
      await connection.enrollFromFrame();
      if (!signal.aborted) this.#done('Reference captured from the camera.');
    } catch (error) {
      if (!signal.aborted) this.#failed(error);
    }
  }

  /** Drops the step in flight and the capture option (the connection closed). Idempotent. */
  cancel(): void {
    if (this.busy === null && !this.capture) return;
    this.busy = null;
    this.capture = false;
    this.#host.requestUpdate();
  }

  /** A new session: forgets the photo and the last note. */
  reset(): void {
    this.note = null;
    this.#setFile(null);
    this.#host.requestUpdate();
  }

  #begin(source: EnrolSource, text: string, signal: AbortSignal): void {
    this.busy = source;
    this.note = { kind: 'info', text };
    signal.addEventListener('abort', () => this.cancel(), { once: true });
    this.#host.requestUpdate();
  }

  #done(text: string): void {
    this.busy = null;
    this.capture = false;
    this.note = { kind: 'done', text };
    this.#setFile(null);
    this.#options.onEnrolled();
    this.#host.requestUpdate();
  }

  #failed(error: unknown): void {
    this.busy = null;
    const code = error instanceof LiveConnectionError ? error.code : 'UNKNOWN';
    if (code !== 'SUPERSEDED' && code !== 'CLOSED') {
      this.note = {
        kind: 'error',
        text: ENROL_ERROR_TEXT[code] ?? `The reference could not be used (${code}). Try again.`,
      };
    }
    this.#host.requestUpdate();
  }

  #setFile(file: File | null): void {
    if (this.preview) URL.revokeObjectURL(this.preview);
    this.file = file;
    this.preview = file ? URL.createObjectURL(file) : null;
  }
}
