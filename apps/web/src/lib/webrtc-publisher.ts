import type { ServerMessage } from '@fv/protocol';
import type { CameraMedia, MediaPublisher, PublisherLink } from './media-publisher.ts';

type IceCandidate = Extract<ServerMessage, { type: 'ice' }>['candidate'];

export interface WebRtcPublisherOptions {
  link: PublisherLink;
  /** From the session's `welcome`. */
  iceServers: Extract<ServerMessage, { type: 'welcome' }>['iceServers'];
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
  #closed = false;

  constructor(options: WebRtcPublisherOptions) {
    this.#options = options;
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
    for (const track of media.stream.getVideoTracks()) pc.addTrack(track, media.stream);
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

  setFps(): void {
    // The server samples the track at its own rate (it reads `config`).
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
