import type { FrameDecision } from '../live/frame-gate.ts';
import type { LiveSession } from '../live/live-session.ts';
import { WebRtcIngest, type WebRtcIngestOptions } from '../live/webrtc-ingest.ts';
import type { Ingest } from '../live/webrtc-isolation.ts';
import type { StreamContext } from './stream-context.ts';
import type { StreamReplies } from './stream-replies.ts';

/**
 * The WebRTC side of one stream: an ingest (in the WebRTC host process when isolation is on) whose
 * decoded frames go through the session's frame gate, trickling its ICE candidates to the client.
 * `taken` counts a frame the gate refused and says whether it was taken.
 */
export function openWebRtcIngest(
  { metrics, iceServers, webrtc }: StreamContext,
  live: LiveSession,
  replies: StreamReplies,
  taken: (decision: FrameDecision) => boolean,
): Ingest {
  const options: WebRtcIngestOptions = {
    iceServers,
    onCandidate: (candidate) => replies.send({ type: 'ice', candidate }),
    // Every decoded frame counts as received; those the session would drop are counted as dropped
    // here and never copied.
    wantsFrame: () => {
      metrics.framesReceived.inc();
      return taken(live.gate.ask());
    },
    onFrame: (frame, capturedAt) => void taken(live.handleFrame(frame, capturedAt)),
    onEnded: (reason) => replies.state('degraded', reason),
  };
  return webrtc
    ? webrtc.create({ ...options, notBefore: () => live.gate.notBefore() })
    : new WebRtcIngest(options);
}
