import type { FaceVerifier } from '@fv/core';
import type { WebSocket } from 'ws';
import type { AccessControl } from '../access.ts';
import type { AttemptLimiter } from '../attempts.ts';
import type { IceServer } from '../config.ts';
import type { FramePipeline } from '../live/frame-pipeline.ts';
import type { RateShare } from '../live/rate-control.ts';
import type { SessionStore } from '../live/session-store.ts';
import type { IsolatedWebRtc } from '../live/webrtc-isolation.ts';
import type { MessageBudgetOptions } from '../message-budget.ts';
import type { ServerMetrics } from '../metrics.ts';

/** What every connection of the stream route shares (built once, in `streamRoutes`). */
export interface StreamContext {
  readonly sessions: SessionStore;
  readonly verifier: FaceVerifier;
  readonly pipeline: FramePipeline;
  readonly metrics: ServerMetrics;
  /** Distance threshold live verdicts use. */
  readonly threshold: number;
  /** Checks the page's Origin against the session's. */
  readonly access: AccessControl;
  /** Failed-attempt limits per session and device. */
  readonly attempts: AttemptLimiter;
  /** This server's live sessions' analysis rates: under overload, one left behind catches up. */
  readonly rateShare: RateShare;
  /** STUN/TURN servers for the server's peer and the client's. */
  readonly iceServers: IceServer[];
  /** Peer connections in the WebRTC host process; null: in this process. */
  readonly webrtc: IsolatedWebRtc | null;
  /** How long a new socket may take to say hello. */
  readonly helloTimeoutMs: number;
  /** Score events are skipped while this many bytes wait in the socket. */
  readonly maxBufferedBytes: number;
  /** Each socket's message budget, text and binary together. */
  readonly messageBudget: MessageBudgetOptions;
}

/** What a connection needs of its `ws` socket. */
export type StreamSocket = Pick<
  WebSocket,
  'readyState' | 'OPEN' | 'bufferedAmount' | 'send' | 'close' | 'pause' | 'terminate'
>;
