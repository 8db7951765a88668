import wrtc from '@roamhq/wrtc';
import { afterAll, describe, expect, it } from 'vitest';
import { IsolatedWebRtc } from './webrtc-isolation.ts';

/** A browser-like video offer from a real libwebrtc peer. */
async function videoOffer(): Promise<string> {
  const pc = new wrtc.RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'sendonly' });
  const offer = await pc.createOffer();
  pc.close();
  return offer.sdp!;
}

describe('IsolatedWebRtc', () => {
  const host = new IsolatedWebRtc();
  afterAll(() => host.close());

  const ingest = (ended: string[] = []) =>
    host.create({
      onCandidate: () => undefined,
      wantsFrame: () => false,
      onFrame: () => undefined,
      onEnded: (reason) => ended.push(reason),
      notBefore: () => Date.now() + 90,
    });

  it('answers offers from a separate process; a crash there ends its streams, not this process', async () => {
    const ended: string[] = [];
    const first = ingest(ended);
    expect(await first.handleOffer(await videoOffer())).toMatch(/^v=0\r\n/);
    const pid = host.pid!;
    expect(pid).not.toBe(process.pid);

    // As a native crash would: the host dies; its stream is told, and a request in flight fails coded.
    // The host is stopped before the request goes out, so it is surely still in flight at the kill:
    // on a loaded machine this process can be paused between two statements long enough for a
    // running host to answer first.
    const offer = await videoOffer();
    process.kill(pid, 'SIGSTOP');
    const pending = ingest().handleOffer(offer);
    process.kill(pid, 'SIGKILL');
    await expect(pending).rejects.toMatchObject({ code: 'WEBRTC_UNAVAILABLE' });
    await expect.poll(() => ended.length).toBe(1);
    expect(ended[0]).toMatch(/WebRTC host ended \(SIGKILL\)/);
    expect(host.crashes).toBe(1);

    // The next stream gets a new host.
    const next = ingest();
    expect(await next.handleOffer(await videoOffer())).toMatch(/^v=0\r\n/);
    expect(host.pid).not.toBe(pid);
    next.close();
    first.close();
  });

  it('refuses a malformed offer with a coded error and keeps the host', async () => {
    // The first peer stays open while the bad offer is refused: once (in 3 full runs, under load)
    // the host died of SIGSEGV when a peer closed just before it (libwebrtc; the gateway validates
    // every offer first, so production never hands it malformed SDP).
    const a = ingest();
    await a.handleOffer(await videoOffer());
    const pid = host.pid;
    try {
      await expect(ingest().handleOffer('v=0\r\nnonsense')).rejects.toMatchObject({ code: 'BAD_MESSAGE' });
      expect(host.pid).toBe(pid);
    } finally {
      a.close();
    }
  });

  it('replaces an idle host once it has made its budget of peers (it keeps every closed one)', async () => {
    const small = new IsolatedWebRtc(2);
    const make = () =>
      small.create({
        onCandidate: () => undefined,
        wantsFrame: () => false,
        onFrame: () => undefined,
        notBefore: () => Date.now() + 90,
      });
    const a = make();
    await a.handleOffer(await videoOffer());
    const first = small.pid;
    const b = make();
    await b.handleOffer(await videoOffer());
    expect(small.served).toBe(2);
    a.close();
    expect(small.pid).toBe(first); // b still streams there
    b.close();
    expect(small.pid).toBeNull();
    const c = make();
    await c.handleOffer(await videoOffer());
    expect(small.pid).not.toBe(first);
    expect(small.crashes).toBe(0);
    c.close();
    await small.close();
  });
});
