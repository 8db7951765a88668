import type { ClientMessage, Transport } from '@fv/protocol';

/** How the camera reaches the server: a WebRTC track, or JPEG frames over the WebSocket. */
export type { Transport };

/** The camera to publish: its stream, and the `<video>` that plays it (JPEG frames are drawn from it). */
export interface CameraMedia {
  readonly stream: MediaStream;
  readonly video: HTMLVideoElement;
}

/** What a publisher may do with the connection's WebSocket. */
export interface PublisherLink {
  /** Sends a protocol message (signalling); dropped while the socket is not open. */
  send(message: ClientMessage): void;
  /** Whether a binary frame may go now: the session is open and the socket's send buffer is empty. */
  canSendFrame(): boolean;
  /** Sends one binary frame if the socket is still open; returns whether it went. */
  sendFrame(frame: ArrayBuffer): boolean;
}

/**
 * Sends a camera to the server over one {@link Transport}. A publisher lives for one socket: the
 * connection starts a new one after each (re)connect and closes it when the socket goes.
 */
export interface MediaPublisher {
  readonly transport: Transport;
  /**
   * Starts sending; resolves once it does (WebRTC: the offer went out) and rejects when it cannot.
   * Aborting `signal` closes the publisher.
   */
  start(media: CameraMedia, signal: AbortSignal): Promise<void>;
  /** The analysis rate changed (JPEG sends at that rate; WebRTC sends what the camera gives). */
  setFps(fps: number): void;
  /** Pixel size of the frames the server analyses when it is not the camera's (scaled JPEGs). */
  readonly frameSize: { readonly width: number; readonly height: number } | null;
  /** Stops sending and releases what it holds (peer connection, timers). Idempotent. */
  close(): void;
}
