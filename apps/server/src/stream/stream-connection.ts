import { VerificationError, decodeFrame, similarityFromDistance } from '@fv/core';
import {
  WS_CLOSE_CODES,
  LIVE_LIMITS,
  PROTOCOL_VERSION,
  ProtocolError,
  parseClientMessage,
  type ClientMessage,
  type EnrolmentSource,
  type LivenessState,
} from '@fv/protocol';
import type { FastifyRequest } from 'fastify';
import type { FrameDecision } from '../live/frame-gate.ts';
import { ANALYSIS_SIZE, LiveSession, type FrameReport } from '../live/live-session.ts';
import { validateOfferSdp } from '../live/sdp.ts';
import type { SessionRecord } from '../live/session-store.ts';
import type { Ingest } from '../live/webrtc-isolation.ts';
import { SocketBudget } from '../socket-budget.ts';
import { ImageEnrolment } from './image-enrolment.ts';
import type { StreamContext, StreamSocket } from './stream-context.ts';
import { StreamReplies } from './stream-replies.ts';
import { openWebRtcIngest } from './webrtc-offer.ts';

type HelloMessage = Extract<ClientMessage, { type: 'hello' }>;

/**
 * One stream socket's lifecycle (`WS /v1/sessions/:id/stream`): hello (single-use token) →
 * welcome; then enrol (answered by `enrolled`, or an `error`), config, bye, and WebRTC signalling
 * (offer → answer, trickled ICE both ways).
 * Frames arrive over WebRTC or as binary JPEG messages; both ask the session's `FrameGate`. Every
 * message out is a protocol `ServerMessage` ({@link StreamReplies}). Each message in is admitted by
 * the socket's budget first. `close()` (the socket closed) is idempotent and closes the live
 * session, the WebRTC ingest and the timers.
 */
export class StreamConnection {
  readonly #socket: StreamSocket;
  readonly #request: FastifyRequest;
  readonly #sessionId: string;
  readonly #context: StreamContext;
  readonly #replies: StreamReplies;
  readonly #budget: SocketBudget;
  readonly #helloTimer: ReturnType<typeof setTimeout>;
  #record: SessionRecord | null = null;
  #live: LiveSession | null = null;
  #ingest: Ingest | null = null;
  #enrolment: ImageEnrolment | null = null;
  #closed = false;

  constructor(socket: StreamSocket, request: FastifyRequest, sessionId: string, context: StreamContext) {
    this.#socket = socket;
    this.#request = request;
    this.#sessionId = sessionId;
    this.#context = context;
    // Where the gauge marks the threshold: the calibration score similarities come from, at it.
    const thresholdSimilarity = similarityFromDistance(
      context.threshold,
      context.verifier.embedder.manifest.calibration,
    );
    this.#replies = new StreamReplies(
      socket,
      request.log,
      context.metrics,
      () => this.#live?.fps ?? 0,
      thresholdSimilarity,
      () => this.#record?.liveness.status ?? 'pending',
    );
    this.#budget = new SocketBudget(socket, context.messageBudget, () => {
      context.metrics.wsClosedForRate.inc({ route: 'stream' });
      this.#replies.fail(new VerificationError('MESSAGE_RATE_EXCEEDED'), true);
    });
    this.#helloTimer = setTimeout(
      () => this.#replies.fail(new VerificationError('HELLO_TIMEOUT'), true),
      context.helloTimeoutMs,
    );
  }

  /** A message from the socket: admitted by the budget, then handled; a failure is told. */
  handleMessage(data: Buffer, isBinary: boolean): void {
    if (!this.#budget.admit(data.length)) return;
    const work = isBinary ? this.handleFrame(data) : this.handleText(data);
    work.catch((error: unknown) => this.#replies.fail(error, !this.#live));
  }

  /** A JSON message: hello first, then the rest of the protocol. */
  async handleText(data: Buffer): Promise<void> {
    const message = parseClientMessage(data);
    if (message.type === 'hello') return this.handleHello(message);
    const live = this.#live;
    if (!live) {
      this.#replies.fail(new VerificationError('UNAUTHORIZED', 'The first message must be hello.'), true);
      return;
    }
    switch (message.type) {
      case 'enroll':
        if (message.source === 'frame') {
          void live
            .enrollFromNextFrame()
            .then(() => this.#enrolled('frame', 'enrolled from the current frame'));
          return;
        }
        return this.#enrolment?.submit(message.image);
      case 'config':
        live.handleConfig(message.fps);
        // Answered when it changed what the client was told last (a repeated config is not).
        this.#replies.state(
          live.degraded ? 'degraded' : 'streaming',
          live.degraded
            ? `asked for ${message.fps} fps; the server is analysing ${live.fps} fps until latency allows more`
            : `analysis rate ${live.fps} fps`,
          true,
        );
        return;
      case 'liveness_retry':
        if (!live.retryLiveness()) {
          const text = 'No liveness sequence to retry: it has not failed, or no retry is left.';
          throw new VerificationError('BAD_MESSAGE', text);
        }
        return;
      case 'bye':
        // The client is done: the session ends (its tenant is told), no token restarts it.
        if (this.#record) this.#context.sessions.end(this.#record.id, 'bye');
        this.#socket.close(WS_CLOSE_CODES.NORMAL, 'bye');
        return;
      case 'offer':
        return this.#handleOffer(live, message.sdp);
      case 'ice':
        if (!this.#ingest) throw new VerificationError('BAD_MESSAGE', 'Send an offer before ICE candidates.');
        await this.#ingest.handleCandidate(message.candidate);
        return;
    }
  }

  /** Spends the token and starts the live session; any failure ends the socket. */
  async handleHello(message: HelloMessage): Promise<void> {
    if (this.#record) throw new ProtocolError('hello was already received');
    clearTimeout(this.#helloTimer);
    if (message.protocol !== PROTOCOL_VERSION) {
      const text = `Protocol ${message.protocol} is not supported; use ${PROTOCOL_VERSION}.`;
      this.#replies.fail(new VerificationError('BAD_MESSAGE', text), true);
      return;
    }
    try {
      await this.#start(message.token);
    } catch (error) {
      this.#replies.fail(error, true);
    }
  }

  /** A binary JPEG frame (the fallback for clients without WebRTC). */
  async handleFrame(data: Buffer): Promise<void> {
    // This session, even if the socket closes while the frame decodes.
    const live = this.#live;
    if (!live) throw new VerificationError('UNAUTHORIZED', 'Say hello before sending frames.');
    if (live.transport === null) {
      live.transport = 'jpeg';
      this.#replies.state('streaming', 'receiving JPEG frames');
    }
    const { metrics } = this.#context;
    metrics.framesReceived.inc();
    const capturedAt = Date.now();
    const admission = live.gate.admitJpeg(capturedAt);
    if (admission !== 'ok') {
      metrics.framesDropped.inc({ reason: 'rate_limit' });
      // Said once a second, not once per extra frame.
      if (admission === 'over_first') this.#replies.fail(new VerificationError('FRAME_RATE_EXCEEDED'), false);
      return;
    }
    if (data.length > LIVE_LIMITS.maxFrameBytes) {
      throw VerificationError.imageTooLarge(data.length, LIVE_LIMITS.maxFrameBytes);
    }
    // Decide before decoding: a frame the session would drop is never decoded.
    if (!this.#taken(live.gate.ask(capturedAt))) return;
    const frame = await decodeFrame(data, { maxBytes: LIVE_LIMITS.maxFrameBytes, maxPixels: 4_000_000 });
    this.#taken(live.handleFrame(frame, capturedAt));
  }

  /** The socket closed: the session, the ingest and the timers go. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#helloTimer);
    this.#budget.close();
    this.#ingest?.close();
    this.#ingest = null;
    const live = this.#live;
    if (live) {
      live.close();
      this.#context.metrics.activeSessions.dec();
    }
    if (this.#record && this.#record.live === live) this.#record.live = null;
    this.#live = null;
  }

  async #start(token: string): Promise<void> {
    const { sessions, access, attempts, pipeline, verifier, metrics, iceServers } = this.#context;
    const opened = await sessions.open(this.#sessionId);
    // The page must be ours or the session's; a device out of attempts may not try again.
    access.checkStreamOrigin(this.#request, opened);
    if (await attempts.deviceBlocked(this.#request.ip)) throw new VerificationError('TOO_MANY_ATTEMPTS');
    const { record, resumeToken } = await sessions.claim(this.#sessionId, token);
    this.#record = record;
    // The socket went while the token was spent: the client resumes with a new one.
    if (this.#closed) return;
    const live = new LiveSession({
      id: record.id,
      analyser: pipeline.openStream(),
      threshold: this.#context.threshold,
      calibration: verifier.embedder.manifest.calibration,
      record,
      rateShare: this.#context.rateShare,
    });
    this.#live = live;
    record.live = live;
    metrics.activeSessions.inc();
    this.#enrolment = new ImageEnrolment(
      async (image) => (await verifier.embedImage(image)).embedding,
      (embedding) => {
        live.setReference(embedding);
        this.#enrolled('image', 'enrolled');
      },
    );
    live.on('score', (report) => this.#onScore(record, report));
    live.on('frameError', (error) => this.#replies.fail(error, false));
    live.on('challenge', (message) => this.#replies.send(message));
    live.on('liveness', (liveness) => this.#onLiveness(record, liveness));
    // Closed from the server side (the session expired and was swept): end the stream too.
    live.on('closed', () => {
      if (this.#replies.open) this.#replies.fail(new VerificationError('SESSION_EXPIRED'), true);
    });
    live.on('rate', (change) => {
      metrics.rateChanges.inc({ direction: change.degraded ? 'down' : 'up' });
      this.#replies.state(change.degraded ? 'degraded' : 'streaming', change.reason);
    });
    this.#replies.send({
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
      analysis: { fps: live.fps, ...ANALYSIS_SIZE },
      enrolled: live.enrolled,
      thresholdSimilarity: this.#replies.thresholdSimilarity,
      liveness: record.liveness,
      resumeToken,
    });
    this.#replies.state(live.enrolled ? 'awaiting_media' : 'awaiting_enrolment');
  }

  /** An enrolment set the reference: said (`enrolled`), then the state, as before the ack existed. */
  #enrolled(source: EnrolmentSource, reason: string): void {
    this.#replies.send({ type: 'enrolled', source });
    this.#replies.state('awaiting_media', reason);
  }

  /** Liveness changed: told to the client; a failed sequence is a failed attempt. */
  #onLiveness(record: SessionRecord, liveness: LivenessState): void {
    this.#replies.send({ type: 'liveness', liveness, decision: record.decision });
    if (liveness.status === 'passed' || liveness.status === 'failed') {
      this.#context.metrics.livenessSequences.inc({ outcome: liveness.status });
    }
    if (liveness.status === 'failed') this.#failedAttempt(record);
  }

  /** Counts a failed attempt (a verdict turning to not_matched, a failed liveness sequence); too many end the session. */
  #failedAttempt(record: SessionRecord): void {
    const { metrics, attempts, sessions } = this.#context;
    attempts
      .recordFailure(record.id, this.#request.ip)
      .then(({ sessionBlocked }) => {
        if (!sessionBlocked || record.endedBy) return;
        sessions.end(record.id, 'too_many_attempts');
        this.#replies.fail(new VerificationError('TOO_MANY_ATTEMPTS'), true);
      })
      .catch(() => metrics.errors.inc({ code: 'INTERNAL' }));
  }

  #onScore(record: SessionRecord, { score, analysis, endToEndMs }: FrameReport): void {
    const { metrics, sessions } = this.#context;
    metrics.framesAnalysed.inc();
    metrics.stageSeconds.observe({ stage: 'detect' }, analysis.detectMs / 1000);
    if (analysis.embedding) metrics.stageSeconds.observe({ stage: 'embed' }, analysis.embedMs / 1000);
    metrics.stageSeconds.observe({ stage: 'end_to_end' }, endToEndMs / 1000);
    // A verdict turning to not_matched is a failed attempt; too many end the session.
    if (score.verdict === 'not_matched' && record.lastScore?.verdict !== 'not_matched') {
      this.#failedAttempt(record);
    }
    sessions.recordScore(record, score).catch(() => metrics.errors.inc({ code: 'INTERNAL' }));
    if (this.#socket.bufferedAmount > this.#context.maxBufferedBytes) {
      metrics.framesDropped.inc({ reason: 'socket_backlog' });
    } else {
      this.#replies.send(score);
    }
  }

  async #handleOffer(live: LiveSession, sdp: string): Promise<void> {
    if (this.#ingest) {
      throw new VerificationError('BAD_MESSAGE', 'An offer was already answered; reconnect to renegotiate.');
    }
    // Checked before libwebrtc sees it, and before the connection's one offer is spent.
    validateOfferSdp(sdp);
    live.transport = 'webrtc';
    const ingest = openWebRtcIngest(this.#context, live, this.#replies, (decision) => this.#taken(decision));
    this.#ingest = ingest;
    this.#replies.send({ type: 'answer', sdp: await ingest.handleOffer(sdp) });
    this.#replies.state('streaming', 'WebRTC connected');
  }

  /** Counts a frame the session did not take, by reason; true when it was taken. */
  #taken(decision: FrameDecision): boolean {
    if (decision !== 'accepted') {
      this.#context.metrics.framesDropped.inc({ reason: decision.replace('dropped_', '') });
    }
    return decision === 'accepted';
  }
}
