// The WebRTC host process: every peer connection of an isolated gateway lives here, so a native
// crash in @roamhq/wrtc ends this process (and the gateway restarts it) instead of the gateway.
// Started by IsolatedWebRtc (webrtc-isolation.ts) with an IPC channel; its messages are
// `HostRequest` and `HostEvent` in @fv/protocol (webrtc-host.ts), parsed on both sides.
import { WEBRTC_HOST_LIMITS, parseHostRequest, type HostEvent, type HostRequest } from '@fv/protocol';
import { WebRtcIngest } from './webrtc-ingest.ts';

interface Peer {
  ingest: WebRtcIngest;
  /** The earliest capture time the gateway wants a frame for; null: none wanted now. */
  notBefore: number | null;
}

const peers = new Map<number, Peer>();
// A send racing the gateway's disconnect (EPIPE) is dropped: the host is on its way out.
const send = (event: HostEvent): void => {
  if (process.connected) process.send!(event, undefined, undefined, (error) => void error);
};

/** Reasons and messages the gateway accepts (its parser bounds them). */
const cut = (text: string): string => text.slice(0, WEBRTC_HOST_LIMITS.maxReasonLength);

async function handle(request: HostRequest): Promise<void> {
  switch (request.type) {
    case 'open': {
      const peer: Peer = {
        notBefore: null,
        ingest: new WebRtcIngest({
          iceServers: request.iceServers,
          onCandidate: (candidate) => send({ type: 'candidate', id: request.id, candidate }),
          wantsFrame: () => {
            if (peer.notBefore === null || Date.now() < peer.notBefore) return false;
            peer.notBefore = null;
            return true;
          },
          onFrame: (frame, capturedAt) =>
            send({
              type: 'frame',
              id: request.id,
              width: frame.width,
              height: frame.height,
              data: frame.data,
              capturedAt,
            }),
          onEnded: (reason) => send({ type: 'ended', id: request.id, reason: cut(reason) }),
        }),
      };
      peers.set(request.id, peer);
      return;
    }
    case 'offer':
    case 'ice': {
      const peer = peers.get(request.id);
      try {
        if (!peer) throw new Error('no such peer');
        const sdp =
          request.type === 'offer'
            ? await peer.ingest.handleOffer(request.sdp)
            : (await peer.ingest.handleCandidate(request.candidate), '');
        send({ type: 'done', rid: request.rid, sdp });
      } catch (error) {
        send({ type: 'failed', rid: request.rid, message: cut((error as Error).message) });
      }
      return;
    }
    case 'arm': {
      const peer = peers.get(request.id);
      if (peer) peer.notBefore = request.notBefore;
      return;
    }
    case 'close': {
      peers.get(request.id)?.ingest.close();
      peers.delete(request.id);
      return;
    }
  }
}

process.on('message', (raw: unknown) => {
  let request: HostRequest;
  try {
    request = parseHostRequest(raw);
  } catch (error) {
    // A malformed request is a gateway bug: fail the request it names, if any, so it does not hang.
    const rid = typeof raw === 'object' && raw !== null ? (raw as { rid?: unknown }).rid : undefined;
    if (Number.isSafeInteger(rid) && (rid as number) >= 1) {
      send({ type: 'failed', rid: rid as number, message: cut((error as Error).message) });
    }
    return;
  }
  void handle(request);
});
// The gateway went away (or is shutting down): leave without running wrtc's finalizers.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
