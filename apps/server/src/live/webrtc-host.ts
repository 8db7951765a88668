// The WebRTC host process: every peer connection of an isolated gateway lives here, so a native
// crash in @roamhq/wrtc ends this process (and the gateway restarts it) instead of the gateway.
// Started by IsolatedWebRtc (webrtc-isolation.ts) with an IPC channel; see its messages there.
import type { HostRequest, HostEvent } from './webrtc-isolation.ts';
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

async function handle(request: HostRequest): Promise<void> {
  switch (request.t) {
    case 'open': {
      const peer: Peer = {
        notBefore: null,
        ingest: new WebRtcIngest({
          iceServers: request.iceServers,
          onCandidate: (candidate) => send({ t: 'candidate', id: request.id, candidate }),
          wantsFrame: () => {
            if (peer.notBefore === null || Date.now() < peer.notBefore) return false;
            peer.notBefore = null;
            return true;
          },
          onFrame: (frame, capturedAt) =>
            send({
              t: 'frame',
              id: request.id,
              width: frame.width,
              height: frame.height,
              data: frame.data,
              capturedAt,
            }),
          onEnded: (reason) => send({ t: 'ended', id: request.id, reason }),
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
          request.t === 'offer'
            ? await peer.ingest.handleOffer(request.sdp)
            : (await peer.ingest.handleCandidate(request.candidate), '');
        send({ t: 'done', rid: request.rid, sdp });
      } catch (error) {
        send({ t: 'failed', rid: request.rid, message: (error as Error).message });
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

process.on('message', (request: HostRequest) => void handle(request));
// The gateway went away (or is shutting down): leave without running wrtc's finalizers.
process.on('disconnect', () => process.exit(0));
send({ t: 'ready' });
