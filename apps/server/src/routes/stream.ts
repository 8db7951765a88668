import { VerificationError, decodeGray, type FaceVerifier } from '@fv/core';
import {
  ERROR_CODES,
  LIVE_LIMITS,
  PROTOCOL_VERSION,
  ProtocolError,
  isErrorCode,
  parseClientMessage,
  type ErrorCode,
  type ServerMessage,
  type StateMessage,
} from '@fv/protocol';
import type {} from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { FramePipeline } from '../live/frame-pipeline.ts';
import { RateShare } from '../live/rate-control.ts';
import { LiveSession, type FrameDecision } from '../live/live-session.ts';
import { WebRtcIngest, type WebRtcIngestOptions } from '../live/webrtc-ingest.ts';
import type { Ingest, IsolatedWebRtc } from '../live/webrtc-isolation.ts';
import type { SessionManager, SessionRecord } from '../live/session-manager.ts';
import type { IceServer } from '../config.ts';
import type { RedisSessionMirror } from '../distributed/session-mirror.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { AccessControl } from '../access.ts';
import { validateOfferSdp } from '../live/sdp.ts';
import type { AttemptLimiter } from '../attempts.ts';
import { MessageBudget, RATE_CLOSE_GRACE_MS, type MessageBudgetOptions } from '../message-budget.ts';

export interface StreamRouteOptions {
  sessions: SessionManager;
  verifier: FaceVerifier;
  pipeline: FramePipeline;
  metrics: ServerMetrics;
  /** Distance threshold live verdicts use. */
  threshold: number;
  /** Distributed mode: session state shared through Redis. */
  mirror?: RedisSessionMirror | null;
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

/** JPEG frames a session may send per second before the extras are refused (twice the top rate). */
const MAX_FRAMES_PER_SECOND = LIVE_LIMITS.maxFps * 2;

function send(socket: WebSocket, message: ServerMessage): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
}

function codeOf(error: unknown): ErrorCode {
  if (error instanceof ProtocolError) return 'BAD_MESSAGE';
  if (error instanceof VerificationError) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  return isErrorCode(code) ? code : 'INTERNAL';
}

/**
 * `WS /v1/sessions/:id/stream`: hello (single-use token) → welcome; then enrol, config, bye, and
 * WebRTC signalling (offer → answer, trickled ICE both ways). Frames arrive over WebRTC, or as binary
 * JPEG messages (the fallback for clients without WebRTC); both feed the same session. Every server
 * message is a protocol `ServerMessage`. Each socket has a message budget (text and binary
 * together); past it the server says MESSAGE_RATE_EXCEEDED and closes the socket with 4429.
 */
export async function streamRoutes(app: FastifyInstance, options: StreamRouteOptions): Promise<void> {
  const { sessions, verifier, pipeline, metrics, threshold, access, attempts } = options;
  // This server's live sessions' analysis rates: under overload, one left behind catches up.
  const rateShare = new RateShare();
  const iceServers = options.iceServers ?? [];
  const mirror = options.mirror ?? null;
  const helloTimeoutMs = options.helloTimeoutMs ?? 5000;
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  const budgetOptions = options.messageBudget ?? {};
  // Built once here so that a bad option fails registration, not every socket.
  void new MessageBudget(budgetOptions);

  /** Counts a frame the session did not take, by reason; true when it was taken. */
  const taken = (decision: FrameDecision): boolean => {
    if (decision !== 'accepted') metrics.framesDropped.inc({ reason: decision.replace('dropped_', '') });
    return decision === 'accepted';
  };

  app.get<{ Params: { id: string } }>('/v1/sessions/:id/stream', { websocket: true }, (socket, request) => {
    let record: SessionRecord | null = null;
    let live: LiveSession | null = null;
    let ingest: Ingest | null = null;
    let lastShared = { verdict: '', at: 0 };
    let frameWindow = { second: 0, count: 0, warned: false };
    const budget = new MessageBudget(budgetOptions);
    let overBudget = false;
    let graceTimer: ReturnType<typeof setTimeout> | null = null;
    // The last state said, so that a message that changes nothing is not answered again.
    let lastState = '';
    // Image enrolments run one at a time, the newest waiting one next (the ones it replaced are
    // never embedded nor answered): a stream of them costs one embedding at a time, not a queue.
    let enrolling = false;
    let nextImage: string | null = null;

    const fail = (error: unknown, fatal: boolean): void => {
      const code = codeOf(error);
      metrics.errors.inc({ code });
      const message = code === 'INTERNAL' ? ERROR_CODES.INTERNAL.message : (error as Error).message;
      if (code === 'INTERNAL') request.log.error({ err: error }, 'stream error');
      send(socket, { type: 'error', code, message, fatal });
      if (fatal) socket.close(ERROR_CODES[code].ws, code);
    };
    /** Says the session's state; with `onlyIfChanged`, not when it is what was said last. */
    const state = (s: StateMessage['state'], reason?: string, onlyIfChanged = false): void => {
      const message: StateMessage = {
        type: 'state',
        state: s,
        analysisFps: live?.fps ?? 0,
        ...(reason && { reason }),
      };
      const text = JSON.stringify(message);
      if (onlyIfChanged && text === lastState) return;
      lastState = text;
      if (socket.readyState === socket.OPEN) socket.send(text);
    };

    const helloTimer = setTimeout(() => fail(new VerificationError('HELLO_TIMEOUT'), true), helloTimeoutMs);

    const start = async (token: string): Promise<void> => {
      const id = request.params.id;
      if (mirror && !sessions.has(id)) {
        const shared = await mirror.load(id);
        if (shared) sessions.adopt(shared);
      }
      // The page must be ours or the session's; a device out of attempts may not try again.
      access.checkStreamOrigin(request, sessions.get(id));
      if (await attempts.deviceBlocked(request.ip)) throw new VerificationError('TOO_MANY_ATTEMPTS');
      // One use cluster-wide, not one per gateway.
      const { record: claimed, resumeToken } = await sessions.claim(
        id,
        token,
        mirror
          ? (presented, next, now, nextExpiry) => mirror.swapToken(id, presented, next, now, nextExpiry)
          : undefined,
      );
      record = claimed;
      const session = new LiveSession({
        id: record.id,
        pipeline,
        threshold,
        calibration: verifier.embedder.manifest.calibration,
        reference: record.reference,
        rateShare,
      });
      live = session;
      record.live = session;
      metrics.activeSessions.inc();
      session.on('score', ({ score, analysis, endToEndMs }) => {
        metrics.framesAnalysed.inc();
        metrics.stageSeconds.observe({ stage: 'detect' }, analysis.detectMs / 1000);
        if (analysis.embedding) metrics.stageSeconds.observe({ stage: 'embed' }, analysis.embedMs / 1000);
        metrics.stageSeconds.observe({ stage: 'end_to_end' }, endToEndMs / 1000);
        if (record) {
          // A verdict turning to not_matched is a failed attempt; too many end the session.
          if (score.verdict === 'not_matched' && record.lastScore?.verdict !== 'not_matched') {
            const rec = record;
            attempts
              .recordFailure(rec.id, request.ip)
              .then(({ sessionBlocked }) => {
                if (!sessionBlocked || rec.endedBy) return;
                sessions.end(rec.id, 'too_many_attempts');
                fail(new VerificationError('TOO_MANY_ATTEMPTS'), true);
              })
              .catch(() => metrics.errors.inc({ code: 'INTERNAL' }));
          }
          record.lastScore = score;
          record.framesAnalysed++;
          // Share the result at most once a second, and at once when the verdict changes.
          const rec = record;
          const changed = score.verdict !== lastShared.verdict;
          if (mirror && (changed || score.emittedAt - lastShared.at >= 1000)) {
            lastShared = { verdict: score.verdict, at: score.emittedAt };
            mirror.saveState(rec).catch(() => {
              metrics.errors.inc({ code: 'INTERNAL' });
            });
          }
        }
        if (socket.bufferedAmount > maxBuffered) metrics.framesDropped.inc({ reason: 'socket_backlog' });
        else send(socket, score);
      });
      session.on('frameError', (error) => fail(error, false));
      // Closed from the server side (the session expired and was swept): end the stream too.
      session.on('closed', () => {
        if (socket.readyState === socket.OPEN) fail(new VerificationError('SESSION_EXPIRED'), true);
      });
      session.on('rate', (change) => {
        metrics.rateChanges.inc({ direction: change.degraded ? 'down' : 'up' });
        state(change.degraded ? 'degraded' : 'streaming', change.reason);
      });
      send(socket, {
        type: 'welcome',
        protocol: PROTOCOL_VERSION,
        sessionId: record.id,
        iceServers,
        limits: {
          maxFps: LIVE_LIMITS.maxFps,
          maxMessageBytes: LIVE_LIMITS.maxMessageBytes,
          maxFrameBytes: LIVE_LIMITS.maxFrameBytes,
          expiresAt: new Date(record.expiresAt).toISOString(),
        },
        enrolled: session.enrolled,
        resumeToken,
      });
      state(session.enrolled ? 'awaiting_media' : 'awaiting_enrolment');
    };

    const handleFrame = async (data: Buffer): Promise<void> => {
      if (!live) throw new VerificationError('UNAUTHORIZED', 'Say hello before sending frames.');
      if (live.transport === null) {
        live.transport = 'jpeg';
        state('streaming', 'receiving JPEG frames');
      }
      metrics.framesReceived.inc();
      const capturedAt = Date.now();
      const second = Math.floor(capturedAt / 1000);
      if (second !== frameWindow.second) frameWindow = { second, count: 0, warned: false };
      if (++frameWindow.count > MAX_FRAMES_PER_SECOND) {
        metrics.framesDropped.inc({ reason: 'rate_limit' });
        // Said once a second, not once per extra frame.
        if (!frameWindow.warned) {
          frameWindow.warned = true;
          fail(new VerificationError('FRAME_RATE_EXCEEDED'), false);
        }
        return;
      }
      if (data.length > LIVE_LIMITS.maxFrameBytes) {
        throw VerificationError.imageTooLarge(data.length, LIVE_LIMITS.maxFrameBytes);
      }
      // This session, even if the socket closes while the frame decodes.
      const session = live;
      // Decide before decoding: a frame the session would drop is never decoded.
      if (!taken(session.wouldAccept(capturedAt))) return;
      const frame = await decodeGray(data, { maxBytes: LIVE_LIMITS.maxFrameBytes, maxPixels: 4_000_000 });
      taken(session.handleFrame(frame, capturedAt));
    };

    const handleText = async (data: Buffer): Promise<void> => {
      const message = parseClientMessage(data);
      if (message.type === 'hello') {
        if (record) throw new ProtocolError('hello was already received');
        clearTimeout(helloTimer);
        if (message.protocol !== PROTOCOL_VERSION) {
          fail(
            new VerificationError(
              'BAD_MESSAGE',
              `Protocol ${message.protocol} is not supported; use ${PROTOCOL_VERSION}.`,
            ),
            true,
          );
          return;
        }
        try {
          await start(message.token);
        } catch (error) {
          fail(error, true);
        }
        return;
      }
      if (!live) {
        fail(new VerificationError('UNAUTHORIZED', 'The first message must be hello.'), true);
        return;
      }
      switch (message.type) {
        case 'enroll': {
          const session = live;
          if (message.source === 'frame') {
            void session.enrollFromNextFrame().then((embedding) => {
              if (record) record.reference = embedding;
              state('awaiting_media', 'enrolled from the current frame');
            });
            return;
          }
          nextImage = message.image;
          if (enrolling) return; // the running enrolment takes it up next
          enrolling = true;
          try {
            while (nextImage !== null) {
              const image: string = nextImage;
              nextImage = null;
              let embedding: Float32Array;
              try {
                ({ embedding } = await verifier.embedImage(Buffer.from(image, 'base64')));
              } catch (error) {
                if (nextImage !== null) continue; // replaced meanwhile: its failure is moot
                throw error;
              }
              if (nextImage !== null) continue; // replaced meanwhile: the newer one is used
              session.setReference(embedding);
              if (record) record.reference = embedding;
              state('awaiting_media', 'enrolled');
            }
          } finally {
            enrolling = false;
          }
          return;
        }
        case 'config':
          live.handleConfig(message.fps);
          // Answered when it changed what the client was told last (a repeated config is not).
          state(
            live.degraded ? 'degraded' : 'streaming',
            live.degraded
              ? `asked for ${message.fps} fps; the server is analysing ${live.fps} fps until latency allows more`
              : `analysis rate ${live.fps} fps`,
            true,
          );
          return;
        case 'bye':
          // The client is done: the session ends (its tenant is told), no token restarts it.
          if (record) sessions.end(record.id, 'bye');
          socket.close(1000, 'bye');
          return;
        case 'offer': {
          if (ingest)
            throw new VerificationError(
              'BAD_MESSAGE',
              'An offer was already answered; reconnect to renegotiate.',
            );
          // Checked before libwebrtc sees it, and before the connection's one offer is spent.
          validateOfferSdp(message.sdp);
          const session = live;
          session.transport = 'webrtc';
          const ingestOptions: WebRtcIngestOptions = {
            iceServers,
            onCandidate: (candidate) => send(socket, { type: 'ice', candidate }),
            // Every decoded frame counts as received; those the session would drop are counted
            // as dropped here and never copied.
            wantsFrame: () => {
              metrics.framesReceived.inc();
              return taken(session.wouldAccept());
            },
            onFrame: (frame, capturedAt) => void taken(session.handleFrame(frame, capturedAt)),
            onEnded: (reason) => state('degraded', reason),
          };
          ingest = options.webrtc
            ? options.webrtc.create({ ...ingestOptions, frameIntervalMs: () => 1000 / session.fps })
            : new WebRtcIngest(ingestOptions);
          send(socket, { type: 'answer', sdp: await ingest.handleOffer(message.sdp) });
          state('streaming', 'WebRTC connected');
          return;
        }
        case 'ice':
          if (!ingest) throw new VerificationError('BAD_MESSAGE', 'Send an offer before ICE candidates.');
          await ingest.handleCandidate(message.candidate);
          return;
      }
    };

    /**
     * Past the budget: said (error, then close 4429), counted, and the socket is no longer read, so
     * what it goes on sending waits in TCP buffers rather than here; a client that does not finish
     * the close handshake is cut off after a grace.
     */
    const closeForRate = (): void => {
      overBudget = true;
      metrics.wsClosedForRate.inc({ route: 'stream' });
      fail(new VerificationError('MESSAGE_RATE_EXCEEDED'), true);
      socket.pause();
      graceTimer = setTimeout(() => socket.terminate(), RATE_CLOSE_GRACE_MS);
    };

    socket.on('message', (data: Buffer, isBinary: boolean) => {
      // Dropped unparsed: those already buffered when the socket went over its budget.
      if (overBudget) return;
      if (!budget.take(data.length)) {
        closeForRate();
        return;
      }
      const work = isBinary ? handleFrame(data) : handleText(data);
      work.catch((error: unknown) => fail(error, !live));
    });
    socket.on('close', () => {
      clearTimeout(helloTimer);
      if (graceTimer) clearTimeout(graceTimer);
      ingest?.close();
      ingest = null;
      if (live) {
        live.close();
        metrics.activeSessions.dec();
      }
      if (record && record.live === live) record.live = null;
      live = null;
    });
  });
}
