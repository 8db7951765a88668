import type { ServerMessage } from '@fv/protocol';
import type { CameraMedia, MediaPublisher, PublisherLink } from './media-publisher.ts';

type IceCandidate = Extract<ServerMessage, { type: 'ice' }>['candidate'];

export interface WebRtcPublisherOptions {
  link: PublisherLink;
  /** From the session's `welcome`. */
  iceServers: Extract<ServerMessage, { type: 'welcome' }>['iceServers'];
  /**
   * The analysis rate and the longest side the server analyses (its `welcome`): the sender is
   * capped to them (`maxFramerate`, `scaleResolutionDownBy`), since the server decodes every frame
   * it receives, the ones it then skips included.
   */
  fps: number;
  maxFrameSide: number;
  /** Media stopped getting through after the start (ICE failed, the answer was unusable). */
  onFailure(reason: string): void;
}

/**
 * Publishes the camera track over a WebRTC peer connection, signalled over the connection's socket
 * (`offer` out, `answer` in, `ice` both ways). The constructor throws when the browser cannot create
 * a peer connection.
 */
export class WebRtcPublisher implements MediaPublisher {
  readonly transport = 'webrtc';
  readonly frameSize = null;
  readonly #options: WebRtcPublisherOptions;
  readonly #pc: RTCPeerConnection;
  /** Candidates that came before the answer. */
  #pendingIce: RTCIceCandidateInit[] = [];
  #sender: RTCRtpSender | null = null;
  #fps: number;
  #scaleDown = 1;
  #closed = false;

  constructor(options: WebRtcPublisherOptions) {
    this.#options = options;
    this.#fps = options.fps;
    const pc = new RTCPeerConnection({ iceServers: options.iceServers });
    this.#pc = pc;
    pc.onicecandidate = (event) => {
      const c = event.candidate;
      options.link.send({
        type: 'ice',
        // Only the fields the protocol knows (toJSON() adds usernameFragment); '' ends gathering too.
        candidate: c?.candidate
          ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex }
          : null,
      });
    };
    pc.oniceconnectionstatechange = () => {
      if (pc.iceConnectionState === 'failed') this.#fail('the WebRTC connection failed');
    };
  }

  async start(media: CameraMedia, signal: AbortSignal): Promise<void> {
    if (this.#closed || signal.aborted) return this.close();
    signal.addEventListener('abort', () => this.close(), { once: true });
    const pc = this.#pc;
    for (const track of media.stream.getVideoTracks()) {
      this.#sender = pc.addTrack(track, media.stream);
      const { width = 0, height = 0 } = track.getSettings();
      this.#scaleDown = Math.max(1, Math.max(width, height) / this.#options.maxFrameSide);
    }
    await this.#cap(this.#fps);
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    if (this.#closed) return;
    this.#options.link.send({ type: 'offer', sdp: pc.localDescription?.sdp ?? offer.sdp ?? '' });
  }

  /** The server's `answer`. */
  async handleAnswer(sdp: string): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#pc.setRemoteDescription({ type: 'answer', sdp });
      await this.#cap(this.#fps);
      for (const candidate of this.#pendingIce.splice(0))
        await this.#pc.addIceCandidate(candidate).catch(() => undefined);
    } catch {
      this.#fail('the server answer was not usable');
    }
  }

  /** A server `ice` message (null ends its candidates). */
  handleIce(candidate: IceCandidate): void {
    if (!candidate || this.#closed) return;
    if (this.#pc.remoteDescription) this.#pc.addIceCandidate(candidate).catch(() => undefined);
    else this.#pendingIce.push(candidate);
  }

  /** A new analysis rate: the sender's frame rate follows (the server samples at it, reading `config`). */
  setFps(fps: number): void {
    this.#fps = fps;
    void this.#cap(fps);
  }

  /** Caps the sender to `fps` and the analysed size; a browser that refuses keeps sending as it was. */
  async #cap(fps: number): Promise<void> {
    const sender = this.#sender;
    if (!sender || this.#closed) return;
    try {
      const parameters = sender.getParameters();
      // Encodings exist once negotiated (Chromium has none before the answer): capped then.
      if (!parameters.encodings?.length) return;
      for (const encoding of parameters.encodings) {
        encoding.maxFramerate = fps;
        encoding.scaleResolutionDownBy = this.#scaleDown;
      }
      await sender.setParameters(parameters);
    } catch {
      // A browser that refuses the cap sends as before; the server still samples at its rate.
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pendingIce = [];
    this.#pc.onicecandidate = null;
    this.#pc.oniceconnectionstatechange = null;
    this.#pc.close();
  }

  #fail(reason: string): void {
    if (!this.#closed) this.#options.onFailure(reason);
  }
}
