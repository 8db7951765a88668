/**
 * Thrown (as a rejection) by `LiveConnection.connect` and the enrol methods; `code` is the server's
 * error code or one of the client's own (`CLOSED`, `ABORTED`, `NOT_CONNECTED`, `DISCONNECTED`,
 * `SUPERSEDED`, `RECONNECT_FAILED`).
 */
export class LiveConnectionError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LiveConnectionError';
  }
}
