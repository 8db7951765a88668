import type { ClientMessage } from '@fv/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CameraMedia, MediaPublisher, Transport } from './media-publisher.ts';
import { MediaUplink, type PublisherFactories } from './media-uplink.ts';

/** A publisher that records what happens to it; `fail` plays the peer connection failing. */
class FakePublisher implements MediaPublisher {
  readonly frameSize = null;
  started = false;
  closed = 0;
  fps: number | null = null;
  answers: string[] = [];
  constructor(
    readonly transport: Transport,
    readonly fail: (reason: string) => void = () => undefined,
    readonly startResult: Promise<void> = Promise.resolve(),
  ) {}
  start(_media: CameraMedia, signal: AbortSignal): Promise<void> {
    this.started = true;
    signal.addEventListener('abort', () => this.close());
    return this.startResult;
  }
  setFps(fps: number): void {
    this.fps = fps;
  }
  async handleAnswer(sdp: string): Promise<void> {
    this.answers.push(sdp);
  }
  close(): void {
    this.closed++;
  }
}

const media = {
  stream: { getVideoTracks: () => [{ getSettings: () => ({ width: 640, height: 480 }) }] },
  video: { videoWidth: 320, videoHeight: 240 },
} as unknown as CameraMedia;

function setUp(options: { webrtcSupported?: boolean; webrtcThrows?: boolean; startFails?: boolean } = {}) {
  const created: FakePublisher[] = [];
  const transports: { transport: Transport; reason: string }[] = [];
  const media_: Transport[] = [];
  let open = true;
  const publishers: PublisherFactories = {
    webrtcSupported: () => options.webrtcSupported ?? true,
    webrtc: ({ onFailure }) => {
      if (options.webrtcThrows) throw new Error('no peer connection');
      const start = options.startFails ? Promise.reject(new Error('offer failed')) : Promise.resolve();
      const publisher = new FakePublisher('webrtc', onFailure, start);
      created.push(publisher);
      return publisher;
    },
    jpeg: ({ fps }) => {
      const publisher = new FakePublisher('jpeg');
      publisher.fps = fps;
      created.push(publisher);
      return publisher;
    },
  };
  const sent: ClientMessage[] = [];
  const uplink = new MediaUplink({
    link: { send: (m) => sent.push(m), canSendFrame: () => true, sendFrame: () => true },
    isOpen: () => open,
    webrtc: true,
    mediaTimeoutMs: 5000,
    fps: 10,
    maxFrameSide: 640,
    jpegQuality: 0.8,
    onTransport: (detail) => transports.push(detail),
    onMedia: ({ transport }) => media_.push(transport),
    publishers,
  });
  return { uplink, created, transports, media: media_, setOpen: (value: boolean) => (open = value) };
}

describe('MediaUplink (the WebRTC → JPEG fallback policy)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts on WebRTC; the first score announces media once', () => {
    const { uplink, created, transports, media: seen } = setUp();
    uplink.setMedia(media);
    uplink.start([]);
    expect(created.map((p) => p.transport)).toEqual(['webrtc']);
    expect(created[0]!.started).toBe(true);
    expect(transports).toEqual([{ transport: 'webrtc', reason: 'trying WebRTC' }]);
    uplink.handleScore();
    uplink.handleScore();
    expect(seen).toEqual(['webrtc']);
    // Media arrived: the timeout no longer falls back.
    vi.advanceTimersByTime(10_000);
    expect(uplink.transport).toBe('webrtc');
    uplink.handleAnswer('v=0');
    expect(created[0]!.answers).toEqual(['v=0']);
  });

  it('falls back to JPEG when no score comes within the timeout, and stays on JPEG after a restart', () => {
    const { uplink, created, transports, media: seen } = setUp();
    uplink.setMedia(media);
    uplink.start([]);
    vi.advanceTimersByTime(4999);
    expect(uplink.transport).toBe('webrtc');
    vi.advanceTimersByTime(1);
    expect(uplink.transport).toBe('jpeg');
    expect(created[0]!.closed).toBeGreaterThan(0);
    expect(transports.at(-1)).toEqual({
      transport: 'jpeg',
      reason: 'no video reached the server over WebRTC',
    });
    uplink.handleScore();
    expect(seen).toEqual(['jpeg']);

    // A reconnect: stop, then start again on the new socket: straight to JPEG (sticky).
    uplink.stop();
    expect(created[1]!.closed).toBeGreaterThan(0);
    uplink.start([]);
    expect(created.map((p) => p.transport)).toEqual(['webrtc', 'jpeg', 'jpeg']);
    expect(transports.at(-1)).toEqual({ transport: 'jpeg', reason: 'WebRTC failed earlier' });
  });

  it('falls back when the peer connection fails, cannot be made, or cannot negotiate', async () => {
    const failing = setUp();
    failing.uplink.setMedia(media);
    failing.uplink.start([]);
    failing.created[0]!.fail('the WebRTC connection failed');
    expect(failing.transports.at(-1)).toEqual({ transport: 'jpeg', reason: 'the WebRTC connection failed' });
    // A late failure of the closed WebRTC publisher changes nothing.
    failing.created[0]!.fail('late');
    expect(failing.created).toHaveLength(2);

    const missing = setUp({ webrtcThrows: true });
    missing.uplink.setMedia(media);
    missing.uplink.start([]);
    expect(missing.transports).toEqual([{ transport: 'jpeg', reason: 'WebRTC could not start' }]);

    const unsupported = setUp({ webrtcSupported: false });
    unsupported.uplink.setMedia(media);
    unsupported.uplink.start([]);
    expect(unsupported.transports).toEqual([{ transport: 'jpeg', reason: 'WebRTC is not available' }]);

    const negotiation = setUp({ startFails: true });
    negotiation.uplink.setMedia(media);
    negotiation.uplink.start([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(negotiation.transports.at(-1)).toEqual({ transport: 'jpeg', reason: 'WebRTC negotiation failed' });
  });

  it('a fallback while the session is not open only marks WebRTC failed; JPEG starts on the next start', () => {
    const { uplink, created, transports, setOpen } = setUp();
    uplink.setMedia(media);
    setOpen(false);
    uplink.fallBack('the server has no WebRTC');
    expect(created).toHaveLength(0);
    setOpen(true);
    uplink.start([]);
    expect(transports).toEqual([{ transport: 'jpeg', reason: 'WebRTC failed earlier' }]);
    // Already on JPEG: another fallback is a no-op.
    uplink.fallBack('again');
    expect(created).toHaveLength(1);
  });

  it('passes the rate to JPEG; close() is idempotent and stops everything', () => {
    const { uplink, created } = setUp({ webrtcSupported: false });
    uplink.setMedia(media);
    uplink.start([]);
    expect(created[0]!.fps).toBe(10);
    uplink.setFps(5);
    expect(created[0]!.fps).toBe(5);
    expect(uplink.scoreFrameSize()).toEqual({ frameWidth: 320, frameHeight: 240 });
    uplink.close();
    uplink.close();
    expect(created[0]!.closed).toBeGreaterThan(0);
    expect(uplink.media).toBeNull();
    uplink.start([]);
    uplink.fallBack('after close');
    expect(created).toHaveLength(1);
  });
});
