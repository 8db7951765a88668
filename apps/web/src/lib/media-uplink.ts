import type { ServerMessage } from '@fv/protocol';
import { JpegPublisher, type JpegPublisherOptions } from './jpeg-publisher.ts';
import type { CameraMedia, MediaPublisher, PublisherLink, Transport } from './media-publisher.ts';
import { WebRtcPublisher, type WebRtcPublisherOptions } from './webrtc-publisher.ts';

type IceServers = Extract<ServerMessage, { type: 'welcome' }>['iceServers'];
/** What the server analyses (its `welcome`): a publisher sends no more frames, no larger. */
export type Analysis = Extract<ServerMessage, { type: 'welcome' }>['analysis'];

/** How the uplink makes its publishers (tests pass fakes). */
export interface PublisherFactories {
  /** Whether this browser has WebRTC at all. */
  webrtcSupported(): boolean;
  /** Throws when no peer connection can be made. */
  webrtc(options: WebRtcPublisherOptions): MediaPublisher & Partial<WebRtcSignalling>;
  jpeg(options: JpegPublisherOptions): MediaPublisher;
}

/** What a WebRTC publisher takes from the server besides the socket: its answer and candidates. */
export interface WebRtcSignalling {
  handleAnswer(sdp: string): Promise<void>;
  handleIce(candidate: Extract<ServerMessage, { type: 'ice' }>['candidate']): void;
}

export const DEFAULT_PUBLISHERS: PublisherFactories = {
  webrtcSupported: () => typeof RTCPeerConnection === 'function',
  webrtc: (options) => new WebRtcPublisher(options),
  jpeg: (options) => new JpegPublisher(options),
};

export interface MediaUplinkOptions {
  link: PublisherLink;
  /** Whether the session is open now (hello answered, socket open). */
  isOpen(): boolean;
  /** Try WebRTC before JPEG frames. */
  webrtc: boolean;
  /** WebRTC counts as failed when no score arrives this long after the offer. */
  mediaTimeoutMs: number;
  /** Analysis rate (JPEG frames are sent at it); see {@link MediaUplink.setFps}. */
  fps: number;
  maxFrameSide: number;
  jpegQuality: number;
  /** The transport changed (each start or fallback announces the one it uses). */
  onTransport(detail: { transport: Transport; reason: string }): void;
  /** The first score after a start: media reaches the server. */
  onMedia(detail: { transport: Transport }): void;
  publishers?: PublisherFactories;
}

/**
 * The camera a {@link LiveConnection} publishes, and how. It runs one {@link MediaPublisher} at a
 * time and holds the fallback policy: WebRTC first; JPEG frames over the socket when this browser
 * or the server has no WebRTC, the peer connection cannot be made or negotiated, ICE fails, or no
 * score comes back within `mediaTimeoutMs`. The fallback is sticky: once WebRTC failed, later
 * (re)starts on this connection go straight to JPEG.
 */
export class MediaUplink {
  readonly #options: MediaUplinkOptions;
  readonly #publishers: PublisherFactories;
  #media: CameraMedia | null = null;
  #publisher: (MediaPublisher & Partial<WebRtcSignalling>) | null = null;
  #run: AbortController | null = null;
  #transport: Transport | null = null;
  #webrtcFailed = false;
  #awaitingMedia = false;
  #mediaTimer: ReturnType<typeof setTimeout> | null = null;
  #fps: number;
  #closed = false;

  constructor(options: MediaUplinkOptions) {
    this.#options = options;
    this.#fps = options.fps;
    this.#publishers = options.publishers ?? DEFAULT_PUBLISHERS;
  }

  /** The camera to publish (kept across reconnects), or null. */
  get media(): CameraMedia | null {
    return this.#media;
  }

  /** The transport in use or last used (it stays set while a reconnect is pending). */
  get transport(): Transport | null {
    return this.#transport;
  }

  /** Stops the current publisher and remembers the camera to publish on the next {@link start}. */
  setMedia(media: CameraMedia | null): void {
    this.stop();
    this.#media = media;
    if (!media) this.#transport = null;
  }

  /** Starts publishing the camera on the open session, capped to what the server analyses. */
  start(iceServers: IceServers, analysis?: Analysis): void {
    const media = this.#media;
    if (!media || this.#closed) return;
    this.#awaitingMedia = true;
    if (this.#options.webrtc && !this.#webrtcFailed && this.#publishers.webrtcSupported()) {
      this.#startWebRtc(media, iceServers, analysis);
    } else {
      this.#startJpeg(media, this.#webrtcFailed ? 'WebRTC failed earlier' : 'WebRTC is not available');
    }
  }

  /** WebRTC cannot carry the camera: JPEG from now on (no-op when already on JPEG). */
  fallBack(reason: string): void {
    if (this.#transport === 'jpeg' || this.#closed) return;
    this.#webrtcFailed = true;
    this.#stopPublisher();
    this.#clearMediaTimer();
    if (this.#media && this.#options.isOpen()) this.#startJpeg(this.#media, reason);
  }

  /** A score arrived. */
  handleScore(): void {
    if (!this.#awaitingMedia) return;
    this.#awaitingMedia = false;
    this.#clearMediaTimer();
    if (this.#transport) this.#options.onMedia({ transport: this.#transport });
  }

  handleAnswer(sdp: string): void {
    void this.#publisher?.handleAnswer?.(sdp);
  }

  handleIce(candidate: Extract<ServerMessage, { type: 'ice' }>['candidate']): void {
    this.#publisher?.handleIce?.(candidate);
  }

  setFps(fps: number): void {
    this.#fps = fps;
    this.#publisher?.setFps(fps);
  }

  /** The pixel space of `score.box`: the JPEG frame as sent, or the camera frame over WebRTC. */
  scoreFrameSize(): { frameWidth: number; frameHeight: number } {
    const sent = this.#publisher?.frameSize;
    if (sent) return { frameWidth: sent.width, frameHeight: sent.height };
    const video = this.#media?.video;
    const settings = this.#media?.stream.getVideoTracks()[0]?.getSettings();
    return {
      frameWidth: video?.videoWidth || settings?.width || 0,
      frameHeight: video?.videoHeight || settings?.height || 0,
    };
  }

  /** Stops sending (publisher, timer) but keeps the camera, so a reconnect resumes it. */
  stop(): void {
    this.#stopPublisher();
    this.#clearMediaTimer();
    this.#awaitingMedia = false;
  }

  /** Stops for good and forgets the camera. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#media = null;
    this.stop();
  }

  #startWebRtc(media: CameraMedia, iceServers: IceServers, analysis?: Analysis): void {
    let publisher: MediaPublisher & Partial<WebRtcSignalling>;
    try {
      publisher = this.#publishers.webrtc({
        link: this.#options.link,
        iceServers,
        fps: this.#fps,
        maxFrameSide: analysis ? Math.max(analysis.width, analysis.height) : this.#options.maxFrameSide,
        onFailure: (reason) => {
          if (this.#publisher === publisher) this.fallBack(reason);
        },
      });
    } catch {
      this.fallBack('WebRTC could not start');
      return;
    }
    const run = this.#use(publisher);
    this.#setTransport('webrtc', 'trying WebRTC');
    // No score within the timeout: media does not get through (e.g. no ICE candidates on loopback).
    this.#clearMediaTimer();
    this.#mediaTimer = setTimeout(() => {
      if (this.#publisher === publisher && this.#awaitingMedia) {
        this.fallBack('no video reached the server over WebRTC');
      }
    }, this.#options.mediaTimeoutMs);
    publisher.start(media, run.signal).catch(() => {
      if (this.#publisher === publisher) this.fallBack('WebRTC negotiation failed');
    });
  }

  #startJpeg(media: CameraMedia, reason: string): void {
    const { link, maxFrameSide, jpegQuality } = this.#options;
    const publisher = this.#publishers.jpeg({ link, fps: this.#fps, maxFrameSide, jpegQuality });
    const run = this.#use(publisher);
    this.#awaitingMedia = true;
    this.#setTransport('jpeg', reason);
    void publisher.start(media, run.signal);
  }

  #use(publisher: MediaPublisher & Partial<WebRtcSignalling>): AbortController {
    this.#stopPublisher();
    this.#publisher = publisher;
    this.#run = new AbortController();
    return this.#run;
  }

  #setTransport(transport: Transport, reason: string): void {
    this.#transport = transport;
    this.#options.onTransport({ transport, reason });
  }

  #stopPublisher(): void {
    const publisher = this.#publisher;
    this.#publisher = null;
    this.#run?.abort();
    this.#run = null;
    publisher?.close();
  }

  #clearMediaTimer(): void {
    if (this.#mediaTimer) clearTimeout(this.#mediaTimer);
    this.#mediaTimer = null;
  }
}
