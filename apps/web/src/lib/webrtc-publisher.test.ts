import type { ClientMessage } from '@fv/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CameraMedia } from './media-publisher.ts';
import { WebRtcPublisher } from './webrtc-publisher.ts';

/** A peer connection as far as the publisher uses it; its sender has encodings once negotiated. */
class FakePeerConnection {
  static last: FakePeerConnection;
  readonly sender = {
    negotiated: false,
    set: [] as RTCRtpEncodingParameters[][],
    getParameters: () => ({ encodings: this.sender.negotiated ? [{ active: true }] : [] }),
    setParameters: async (p: { encodings: RTCRtpEncodingParameters[] }) =>
      void this.sender.set.push(p.encodings),
  };
  localDescription = { sdp: 'v=0 offer' };
  remoteDescription: unknown = null;
  onicecandidate: unknown = null;
  oniceconnectionstatechange: unknown = null;
  constructor() {
    FakePeerConnection.last = this;
  }
  addTrack() {
    return this.sender;
  }
  async createOffer() {
    return { type: 'offer', sdp: 'v=0 offer' };
  }
  async setLocalDescription() {}
  async setRemoteDescription(d: unknown) {
    this.remoteDescription = d;
    this.sender.negotiated = true;
  }
  async addIceCandidate() {}
  close() {}
}

const camera = (width: number, height: number): CameraMedia =>
  ({
    stream: { getVideoTracks: () => [{ getSettings: () => ({ width, height }) }] },
    video: {},
  }) as unknown as CameraMedia;

/** A publisher at the analysed 10 fps and 640 px, over `link`. */
const publisherOn = (link: ConstructorParameters<typeof WebRtcPublisher>[0]['link']): WebRtcPublisher =>
  new WebRtcPublisher({ link, iceServers: [], fps: 10, maxFrameSide: 640, onFailure: () => {} });

afterEach(() => vi.unstubAllGlobals());

describe('WebRtcPublisher', () => {
  it('caps the sender to the analysed rate and size once negotiated, and follows the rate', async () => {
    vi.stubGlobal('RTCPeerConnection', FakePeerConnection);
    const sent: ClientMessage[] = [];
    const link = {
      send: (m: ClientMessage) => sent.push(m),
      canSendFrame: () => true,
      sendFrame: () => true,
    };
    const publisher = publisherOn(link);
    await publisher.start(camera(1280, 720), new AbortController().signal);
    expect(sent.map((m) => m.type)).toEqual(['offer']);
    const { sender } = FakePeerConnection.last;
    expect(sender.set).toEqual([]); // no encodings before the answer: nothing to cap yet
    await publisher.handleAnswer('v=0 answer');
    expect(sender.set.at(-1)).toEqual([{ active: true, maxFramerate: 10, scaleResolutionDownBy: 2 }]);
    publisher.setFps(5);
    await Promise.resolve();
    expect(sender.set.at(-1)).toEqual([{ active: true, maxFramerate: 5, scaleResolutionDownBy: 2 }]);
    publisher.close();
  });

  it('never scales a camera already smaller than the analysed size up', async () => {
    vi.stubGlobal('RTCPeerConnection', FakePeerConnection);
    const link = { send: () => {}, canSendFrame: () => true, sendFrame: () => true };
    const publisher = publisherOn(link);
    await publisher.start(camera(320, 240), new AbortController().signal);
    await publisher.handleAnswer('v=0 answer');
    expect(FakePeerConnection.last.sender.set.at(-1)).toEqual([
      { active: true, maxFramerate: 10, scaleResolutionDownBy: 1 },
    ]);
    publisher.close();
  });
});
