import wrtc from '@roamhq/wrtc';
import type { GrayImage } from '@fv/core';
import { VerificationError } from '@fv/core';
import type { IceCandidate } from '@fv/protocol';

/** An ICE candidate as the stream's `ice` messages and the WebRTC host's IPC carry it. */
export type IceCandidateMessage = IceCandidate;

export interface WebRtcIngestOptions {
  /** STUN/TURN servers handed to the peer connection (and to the client in `welcome`). */
  iceServers?: RTCIceServer[];
  /** Called for each local ICE candidate to trickle to the client; `null` ends gathering. */
  onCandidate: (candidate: IceCandidateMessage | null) => void;
  /** Asked before a frame is copied: frames the session would drop are never copied. */
  wantsFrame: () => boolean;
  /** A received frame's luma plane (the grayscale picture). */
  onFrame: (frame: GrayImage, capturedAt: number) => void;
  /** The connection failed or closed from the remote side. */
  onEnded?: (reason: string) => void;
}

interface VideoSink {
  stop(): void;
  onframe: ((event: SinkFrameEvent) => void) | null;
}

interface SinkFrameEvent {
  frame: { width: number; height: number; data: Uint8Array };
}

/**
 * Closed peer connections are never handed to the garbage collector. @roamhq/wrtc 0.10's native
 * finalizer of a closed RTCPeerConnection can crash the process (SIGSEGV, or V8's "Check failed:
 * node->IsInUse()"): measured with the SDP fuzz offers, a collection after the peers were closed
 * crashed 1 run in 2 when the peers could be collected, 0 in 4 when they were kept (and 1 in 4 when
 * only the video sinks were kept). Each kept peer costs ~20 KiB; {@link retainedPeers} counts them
 * so the gateway can report itself unready and be recycled (process.exit never runs finalizers).
 */
const retained: unknown[] = [];

/** Closed peer connections kept alive in this process (see above). */
export function retainedPeers(): number {
  return retained.length;
}

/**
 * The server side of one WebRTC session: answers the client's offer, receives its video track and
 * hands on the Y plane of sampled I420 frames. `close()` stops the sink and the peer. Idempotent.
 */
export class WebRtcIngest {
  readonly #pc: RTCPeerConnection;
  #sink: VideoSink | null = null;
  #closed = false;
  /** The offer or candidate being applied: the peer is closed only once it settles. */
  #pending: Promise<unknown> = Promise.resolve();

  constructor(options: WebRtcIngestOptions) {
    this.#pc = new wrtc.RTCPeerConnection({
      iceServers: options.iceServers ?? [],
    }) as unknown as RTCPeerConnection;
    this.#pc.onicecandidate = ({ candidate }) => {
      if (this.#closed) return;
      options.onCandidate(
        candidate
          ? {
              candidate: candidate.candidate,
              sdpMid: candidate.sdpMid,
              sdpMLineIndex: candidate.sdpMLineIndex,
            }
          : null,
      );
    };
    this.#pc.ontrack = ({ track }) => {
      if (track.kind !== 'video' || this.#sink !== null || this.#closed) return;
      const sink = new wrtc.nonstandard.RTCVideoSink(track as never) as unknown as VideoSink;
      sink.onframe = ({ frame }) => {
        if (this.#closed || !options.wantsFrame()) return;
        const lumaSize = frame.width * frame.height;
        if (frame.data.length < lumaSize) return;
        // Copy only the luma plane: the native buffer is reused for the next frame.
        options.onFrame(
          { width: frame.width, height: frame.height, data: frame.data.slice(0, lumaSize) },
          Date.now(),
        );
      };
      this.#sink = sink;
    };
    this.#pc.onconnectionstatechange = () => {
      const state = this.#pc.connectionState;
      if ((state === 'failed' || state === 'closed') && !this.#closed)
        options.onEnded?.(`peer connection ${state}`);
    };
  }

  /** Applies the client's offer and returns the answer SDP. */
  async handleOffer(sdp: string): Promise<string> {
    if (this.#closed) throw new VerificationError('BAD_REQUEST', 'The peer connection is closed.');
    const applying = (async () => {
      await this.#pc.setRemoteDescription({ type: 'offer', sdp });
      const answer = await this.#pc.createAnswer();
      await this.#pc.setLocalDescription(answer);
      return this.#pc.localDescription?.sdp ?? answer.sdp ?? '';
    })();
    this.#pending = applying.catch(() => undefined);
    try {
      return await applying;
    } catch (cause) {
      throw new VerificationError(
        'BAD_MESSAGE',
        `The offer could not be applied: ${(cause as Error).message}`,
      );
    }
  }

  async handleCandidate(candidate: IceCandidateMessage | null): Promise<void> {
    if (this.#closed || candidate === null) return;
    const adding = this.#pc.addIceCandidate(candidate);
    this.#pending = Promise.all([this.#pending, adding.catch(() => undefined)]);
    try {
      await adding;
    } catch (cause) {
      throw new VerificationError(
        'BAD_MESSAGE',
        `The ICE candidate was refused: ${(cause as Error).message}`,
      );
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const sink = this.#sink;
    sink?.stop();
    this.#sink = null;
    const pc = this.#pc;
    pc.onicecandidate = null;
    pc.ontrack = null;
    pc.onconnectionstatechange = null;
    // Never close a peer in the middle of applying a description: let libwebrtc finish first.
    void this.#pending.finally(() => {
      pc.close();
      retained.push(pc);
    });
  }
}
