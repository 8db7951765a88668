import type { EnrolledMessage, EnrolmentSource, ServerMessage } from '@fv/protocol';
import { LiveConnectionError } from './live-connection-error.ts';

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

/**
 * Pairs the server's replies with the enrolment request in flight. The protocol has no request ids:
 * a session enrols one reference at a time, `enrolled {source}` says it took one, and an image
 * error code says the photo was refused. So there is at most one pending request; a new one
 * supersedes it. No socket here: {@link LiveConnection} sends the `enroll` message and feeds the
 * replies in.
 */
export class EnrolmentMatcher {
  #pending: { source: EnrolmentSource; resolve(): void; reject(error: LiveConnectionError): void } | null =
    null;

  /** The source of the request waiting for its reply, if any. */
  get pending(): EnrolmentSource | null {
    return this.#pending?.source ?? null;
  }

  /**
   * Registers a request (the caller sends it right after) and returns its outcome: resolves once the
   * server enrolled the reference, rejects with the server's code or `SUPERSEDED` when another request
   * replaces it.
   */
  request(source: EnrolmentSource): Promise<void> {
    this.#pending?.reject(new LiveConnectionError('SUPERSEDED', 'Another enrolment started.'));
    return new Promise<void>((resolve, reject) => {
      this.#pending = { source, resolve, reject };
    });
  }

  /**
   * An `enrolled` message answers the pending request of its source. One of the other source is the
   * late answer to a request this one superseded (the server still took it): not this one's.
   */
  handleEnrolled(message: EnrolledMessage): void {
    if (this.#pending?.source === message.source) this.#settle()?.resolve();
  }

  /** An `error` message: an image code answers a pending photo (frame enrolments wait for a face). */
  handleError(message: Pick<Extract<ServerMessage, { type: 'error' }>, 'code' | 'message'>): void {
    if (this.#pending?.source === 'image' && IMAGE_CODES.has(message.code)) {
      this.#settle()?.reject(new LiveConnectionError(message.code, message.message));
    }
  }

  /** Rejects the pending request (the socket dropped or the connection closed). */
  fail(error: LiveConnectionError): void {
    this.#settle()?.reject(error);
  }

  #settle() {
    const pending = this.#pending;
    this.#pending = null;
    return pending;
  }
}
