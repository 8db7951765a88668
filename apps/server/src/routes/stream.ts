import type { FaceVerifier } from '@fv/core';
import type {} from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { AccessControl } from '../access.ts';
import type { AttemptLimiter } from '../attempts.ts';
import type { IceServer } from '../config.ts';
import type { FramePipeline } from '../live/frame-pipeline.ts';
import { RateShare } from '../live/rate-control.ts';
import type { SessionStore } from '../live/session-store.ts';
import type { IsolatedWebRtc } from '../live/webrtc-isolation.ts';
import { MessageBudget, type MessageBudgetOptions } from '../message-budget.ts';
import type { ServerMetrics } from '../metrics.ts';
import { StreamConnection } from '../stream/stream-connection.ts';
import type { StreamContext } from '../stream/stream-context.ts';

export interface StreamRouteOptions {
  sessions: SessionStore;
  verifier: FaceVerifier;
  pipeline: FramePipeline;
  metrics: ServerMetrics;
  /** Distance threshold live verdicts use. */
  threshold: number;
  /** STUN/TURN servers for the server's peer and the client's. @defaultValue [] */
  iceServers?: IceServer[];
  /** How long a new socket may take to say hello. @defaultValue 5000 */
  helloTimeoutMs?: number;
  /** Score events are skipped while this many bytes wait in the socket. @defaultValue 1 MiB */
  maxBufferedBytes?: number;
  /** Checks the page's Origin against the session's. */
  access: AccessControl;
  /** Failed-attempt limits per session and device. */
  attempts: AttemptLimiter;
  /** Peer connections in a separate process (a native wrtc crash spares the gateway); null: here. */
  webrtc?: IsolatedWebRtc | null;
  /**
   * Each socket's message budget, text and binary together; past it the socket is closed with
   * MESSAGE_RATE_EXCEEDED. @defaultValue {@link MessageBudget}'s defaults (120/s, bursts of 240)
   */
  messageBudget?: MessageBudgetOptions;
}

/**
 * `WS /v1/sessions/:id/stream`: one {@link StreamConnection} per socket, which owns its lifecycle
 * (hello, enrolment, signalling, frames, the message budget). Frames arrive over WebRTC, or as
 * binary JPEG messages (the fallback for clients without WebRTC); both feed the same session.
 * Past its message budget a socket is told MESSAGE_RATE_EXCEEDED and closed with 4429.
 */
export async function streamRoutes(app: FastifyInstance, options: StreamRouteOptions): Promise<void> {
  const messageBudget = options.messageBudget ?? {};
  // Built once here so that a bad option fails registration, not every socket.
  void new MessageBudget(messageBudget);
  const context: StreamContext = {
    sessions: options.sessions,
    verifier: options.verifier,
    pipeline: options.pipeline,
    metrics: options.metrics,
    threshold: options.threshold,
    access: options.access,
    attempts: options.attempts,
    rateShare: new RateShare(),
    iceServers: options.iceServers ?? [],
    webrtc: options.webrtc ?? null,
    helloTimeoutMs: options.helloTimeoutMs ?? 5000,
    maxBufferedBytes: options.maxBufferedBytes ?? 1024 * 1024,
    messageBudget,
  };

  app.get<{ Params: { id: string } }>('/v1/sessions/:id/stream', { websocket: true }, (socket, request) => {
    const connection = new StreamConnection(socket, request, request.params.id, context);
    socket.on('message', (data: Buffer, isBinary: boolean) => connection.handleMessage(data, isBinary));
    socket.on('close', () => connection.close());
  });
}
