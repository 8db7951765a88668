import { LIVE_LIMITS } from '@fv/protocol';
import type { CameraMedia, MediaPublisher, PublisherLink } from './media-publisher.ts';

export interface JpegPublisherOptions {
  link: PublisherLink;
  /** Frames per second sent. */
  fps: number;
  /** Frames are scaled down to at most this many pixels on their long side. */
  maxFrameSide: number;
  /** JPEG quality in (0, 1]. */
  jpegQuality: number;
}

/**
 * Publishes the camera as JPEG frames (binary WebSocket messages) drawn from the `<video>` that plays
 * it, `fps` times a second, with at most one frame in flight.
 */
export class JpegPublisher implements MediaPublisher {
  readonly transport = 'jpeg';
  readonly #options: JpegPublisherOptions;
  readonly #canvas = document.createElement('canvas');
  #fps: number;
  #media: CameraMedia | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #encoding = false;
  #frameSize: { width: number; height: number } | null = null;
  #closed = false;

  constructor(options: JpegPublisherOptions) {
    this.#options = options;
    this.#fps = options.fps;
  }

  /** The size of the last frame sent (the space the server's face boxes are measured in). */
  get frameSize(): { width: number; height: number } | null {
    return this.#frameSize;
  }

  start(media: CameraMedia, signal: AbortSignal): Promise<void> {
    if (this.#closed || signal.aborted) {
      this.close();
      return Promise.resolve();
    }
    signal.addEventListener('abort', () => this.close(), { once: true });
    this.#media = media;
    this.#loop();
    return Promise.resolve();
  }

  setFps(fps: number): void {
    this.#fps = fps;
    if (this.#timer) this.#loop();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#media = null;
  }

  #loop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#sendFrame(), 1000 / this.#fps);
  }

  #sendFrame(): void {
    const media = this.#media;
    // At most one unsent frame: a frame still in the socket's buffer (or being encoded) means the
    // link is slower than the rate, and a fresh frame later beats a stale one now.
    if (!media || this.#encoding || !this.#options.link.canSendFrame()) return;
    const { video } = media;
    if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || !video.videoWidth) return;
    const scale = Math.min(1, this.#options.maxFrameSide / Math.max(video.videoWidth, video.videoHeight));
    const width = Math.round(video.videoWidth * scale);
    const height = Math.round(video.videoHeight * scale);
    const canvas = this.#canvas;
    if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, { width, height });
    const context = canvas.getContext('2d');
    if (!context) return;
    context.drawImage(video, 0, 0, width, height);
    this.#encoding = true;
    canvas.toBlob(
      (blob) => {
        if (!blob || this.#closed) {
          this.#encoding = false;
          return;
        }
        blob
          .arrayBuffer()
          .then((buffer) => {
            if (
              !this.#closed &&
              buffer.byteLength <= LIVE_LIMITS.maxFrameBytes &&
              this.#options.link.sendFrame(buffer)
            ) {
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
}
