import { VerificationError } from '@fv/core';
import {
  ERROR_CODES,
  OPS_LIMITS,
  ProtocolError,
  isErrorCode,
  parseOpsClientMessage,
  type ErrorCode,
  type OpsPoint,
  type OpsServerMessage,
  type OpsSession,
  type OpsSessionState,
  type OpsSnapshotMessage,
} from '@fv/protocol';
import type {} from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { FramePipeline } from '../live/frame-pipeline.ts';
import type { LiveSession, ScorePoint } from '../live/live-session.ts';
import type { SessionManager, SessionRecord } from '../live/session-manager.ts';
import type { ServerMetrics } from '../metrics.ts';
import { MessageBudget, RATE_CLOSE_GRACE_MS, type MessageBudgetOptions } from '../message-budget.ts';

export interface OpsRouteOptions {
  sessions: SessionManager;
  pipeline: FramePipeline;
  metrics: ServerMetrics;
  /** Distance threshold live verdicts use (shown until a session has scored). */
  threshold: number;
  /** `embedded` or `distributed (<role>)`. */
  mode: string;
  /** Embedding jobs waiting in the queue (distributed mode); absent in the embedded mode. */
  queueDepth?: () => number;
  /**
   * Operator credential check, run before the WebSocket upgrade; throw (e.g.
   * `new VerificationError('UNAUTHORIZED')`) to refuse. @defaultValue lets everyone in
   */
  authorize?: (request: FastifyRequest) => void | Promise<void>;
  /** Snapshot cadence. @defaultValue 1000 ms */
  intervalMs?: number;
  /** A socket skips a tick while this many bytes wait in it. @defaultValue 1 MiB */
  maxBufferedBytes?: number;
  /**
   * Each socket's message budget; past it the socket is closed with MESSAGE_RATE_EXCEEDED.
   * @defaultValue {@link DEFAULT_OPS_MESSAGE_BUDGET}
   */
  messageBudget?: MessageBudgetOptions;
}

/**
 * A dashboard sends a message when the operator picks a session to follow (or stops): a click, or
 * at most a held arrow key's repeat (about 30 a second). Each subscription is answered with the
 * session's whole timeline, so the budget is lower than a live stream's.
 */
export const DEFAULT_OPS_MESSAGE_BUDGET = { perSecond: 50, burst: 100 } as const;

/** What one dashboard socket follows besides the snapshots. */
interface OpsSubscription {
  readonly sessionId: string;
  /** The stream whose points were sent; a new stream (the client reconnected) restarts the timeline. */
  live: LiveSession | null;
  lastFrameId: number;
}

const BATCH_WINDOW_S = 60;
const LATENCY_WINDOW_MS = 30_000;

const round = (value: number, digits = 4): number => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};
const roundOrNull = (value: number | null): number | null => (value === null ? null : round(value));

const toWire = (p: ScorePoint): OpsPoint => ({
  t: p.t,
  distance: roundOrNull(p.distance),
  smoothedDistance: roundOrNull(p.smoothedDistance),
  similarity: roundOrNull(p.similarity),
  verdict: p.verdict,
});

/** The `q` quantile (0–1) of ascending `sorted`, nearest rank; null when empty. */
function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function stateOf(record: SessionRecord): OpsSessionState {
  const live = record.live;
  if (!live) return record.tokenUsed ? 'disconnected' : 'waiting';
  if (!live.enrolled) return 'awaiting_enrolment';
  if (live.degraded) return 'degraded';
  return live.analysedFps() > 0 ? 'streaming' : 'awaiting_media';
}

function codeOf(error: unknown): ErrorCode {
  if (error instanceof ProtocolError) return 'BAD_MESSAGE';
  if (error instanceof VerificationError) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  return isErrorCode(code) ? code : 'INTERNAL';
}

async function counterTotal(counter: ServerMetrics['framesAnalysed']): Promise<number> {
  return (await counter.get()).values.reduce((sum, v) => sum + v.value, 0);
}

/**
 * `WS /v1/ops`: the operator dashboard's live feed. One shared timer builds one snapshot a second
 * for every connected dashboard (nothing runs while none is connected); a socket that is behind
 * skips ticks instead of queueing them. A dashboard may follow one session's timeline.
 */
export async function opsRoutes(app: FastifyInstance, options: OpsRouteOptions): Promise<void> {
  const { sessions, metrics } = options;
  const intervalMs = options.intervalMs ?? OPS_LIMITS.intervalMs;
  const maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
  const sockets = new Map<WebSocket, { subscription: OpsSubscription | null }>();
  const budgetOptions = { ...DEFAULT_OPS_MESSAGE_BUDGET, ...options.messageBudget };
  // Built once here so that a bad option fails registration, not every socket.
  void new MessageBudget(budgetOptions);

  // Batch sizes per wall-clock second, the last minute of them (bounded whatever the load).
  const batchSeconds = Array.from({ length: BATCH_WINDOW_S }, () => ({
    second: -1,
    counts: new Map<number, number>(),
  }));
  options.pipeline.onBatch((report) => {
    const second = Math.floor(Date.now() / 1000);
    const bucket = batchSeconds[second % BATCH_WINDOW_S]!;
    if (bucket.second !== second) {
      bucket.second = second;
      bucket.counts.clear();
    }
    bucket.counts.set(report.size, (bucket.counts.get(report.size) ?? 0) + 1);
  });

  // Frame rates come from the counters' change between timer ticks; a snapshot between ticks (a
  // dashboard that just connected) repeats the last rates rather than measuring a sliver of time.
  let previous: { at: number; analysed: number; dropped: number } | null = null;
  let rates = { framesPerSecond: 0, droppedPerSecond: 0 };
  const measureRates = async (now: number): Promise<void> => {
    const [analysed, dropped] = await Promise.all([
      counterTotal(metrics.framesAnalysed),
      counterTotal(metrics.framesDropped),
    ]);
    const dt = previous ? (now - previous.at) / 1000 : 0;
    const perSecond = (total: number, before: number): number => round(Math.max(0, total - before) / dt, 1);
    if (previous && dt > 0) {
      rates = {
        framesPerSecond: perSecond(analysed, previous.analysed),
        droppedPerSecond: perSecond(dropped, previous.dropped),
      };
    }
    previous = { at: now, analysed, dropped };
  };

  const snapshot = (now: number): OpsSnapshotMessage => {
    const records = sessions.list();

    const histogram = new Map<number, number>();
    const nowSecond = Math.floor(now / 1000);
    for (const bucket of batchSeconds) {
      if (nowSecond - bucket.second >= BATCH_WINDOW_S) continue;
      for (const [size, count] of bucket.counts) histogram.set(size, (histogram.get(size) ?? 0) + count);
    }

    const latencies: number[] = [];
    let liveSessions = 0;
    const rows: OpsSession[] = [];
    for (const record of records) {
      const live = record.live;
      if (live) {
        liveSessions++;
        for (const p of live.history()) if (now - p.t <= LATENCY_WINDOW_MS) latencies.push(p.latencyMs);
      }
      if (rows.length >= OPS_LIMITS.maxSessions) continue;
      const score = record.lastScore;
      const counts = live?.frameCounts ?? { received: 0, dropped: 0 };
      rows.push({
        sessionId: record.id,
        state: stateOf(record),
        verdict: score?.verdict ?? 'pending',
        distance: roundOrNull(score?.distance ?? null),
        smoothedDistance: roundOrNull(score?.smoothedDistance ?? null),
        threshold: score?.threshold ?? options.threshold,
        fps: live ? round(live.analysedFps(), 1) : 0,
        targetFps: live?.fps ?? 0,
        framesReceived: counts.received,
        framesAnalysed: record.framesAnalysed,
        droppedFrames: counts.dropped,
        transport: live?.transport ?? null,
        createdAt: new Date(record.createdAt).toISOString(),
        expiresAt: new Date(record.expiresAt).toISOString(),
        ageSeconds: Math.max(0, Math.floor((now - record.createdAt) / 1000)),
        sparkline: (live?.history(OPS_LIMITS.sparklinePoints) ?? []).map((p) =>
          roundOrNull(p.smoothedDistance),
        ),
      });
    }
    latencies.sort((a, b) => a - b);
    return {
      type: 'ops_snapshot',
      at: now,
      system: {
        sessions: records.length,
        liveSessions,
        ...rates,
        queueDepth: options.queueDepth ? options.queueDepth() : null,
        batchHistogram: [...histogram].sort(([a], [b]) => a - b).map(([size, count]) => ({ size, count })),
        latencyMs: {
          p50: roundOrNull(quantile(latencies, 0.5)),
          p95: roundOrNull(quantile(latencies, 0.95)),
        },
        mode: options.mode,
      },
      sessions: rows,
      omitted: Math.max(0, records.length - rows.length),
    };
  };

  const send = (socket: WebSocket, message: OpsServerMessage): void => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
  };
  const fail = (socket: WebSocket, error: unknown): void => {
    const code = codeOf(error);
    metrics.errors.inc({ code });
    const message = code === 'INTERNAL' ? ERROR_CODES.INTERNAL.message : (error as Error).message;
    if (code === 'INTERNAL') app.log.error({ err: error }, 'ops error');
    send(socket, { type: 'error', code, message, fatal: false });
  };

  /** The whole kept timeline of the session's current stream, which restarts the client's chart. */
  const sendDetail = (socket: WebSocket, subscription: OpsSubscription, live: LiveSession | null): void => {
    const points = live?.history() ?? [];
    subscription.live = live;
    subscription.lastFrameId = points.at(-1)?.frameId ?? -1;
    send(socket, {
      type: 'ops_session_detail',
      sessionId: subscription.sessionId,
      timeline: points.map(toWire),
    });
  };

  /** Points since the last message, or a fresh timeline when the session's stream changed. */
  const follow = (socket: WebSocket, subscription: OpsSubscription): boolean => {
    let live: LiveSession | null;
    try {
      live = sessions.get(subscription.sessionId).live;
    } catch (error) {
      fail(socket, error);
      return false;
    }
    if (live !== subscription.live) {
      if (live) sendDetail(socket, subscription, live);
      else subscription.live = null;
      return true;
    }
    if (!live) return true;
    const fresh = live.history().filter((p) => p.frameId > subscription.lastFrameId);
    if (fresh.length > 0) {
      subscription.lastFrameId = fresh.at(-1)!.frameId;
      send(socket, {
        type: 'ops_session_points',
        sessionId: subscription.sessionId,
        points: fresh.map(toWire),
      });
    }
    return true;
  };

  let timer: ReturnType<typeof setInterval> | null = null;
  let ticking = false;
  const tick = async (): Promise<void> => {
    if (ticking) return; // a slow tick is skipped over, never stacked
    ticking = true;
    try {
      const now = Date.now();
      await measureRates(now);
      const text = JSON.stringify(snapshot(now));
      for (const [socket, state] of sockets) {
        if (socket.readyState !== socket.OPEN || socket.bufferedAmount > maxBuffered) continue;
        socket.send(text);
        if (state.subscription && !follow(socket, state.subscription)) state.subscription = null;
      }
    } catch (error) {
      app.log.error({ err: error }, 'ops snapshot failed');
    } finally {
      ticking = false;
    }
  };
  const stopTimer = (): void => {
    if (timer) clearInterval(timer);
    timer = null;
    previous = null;
    rates = { framesPerSecond: 0, droppedPerSecond: 0 };
  };
  app.addHook('onClose', async () => stopTimer());

  app.get(
    '/v1/ops',
    {
      websocket: true,
      // The operator credential check, before the upgrade; without `authorize` the feed is open.
      preValidation: async (request) => {
        await options.authorize?.(request);
      },
    },
    (socket) => {
      const state: { subscription: OpsSubscription | null } = { subscription: null };
      sockets.set(socket, state);
      if (!timer) {
        timer = setInterval(() => void tick(), intervalMs);
        // The baseline for the first tick's rates, so they show after one second, not two.
        void measureRates(Date.now());
      }
      // The first snapshot at once rather than after a second.
      send(socket, snapshot(Date.now()));

      const budget = new MessageBudget(budgetOptions);
      let overBudget = false;
      let graceTimer: ReturnType<typeof setTimeout> | null = null;

      socket.on('message', (data: Buffer, isBinary: boolean) => {
        // Dropped unparsed: those already buffered when the socket went over its budget.
        if (overBudget) return;
        if (!budget.take(data.length)) {
          // Said (error, then close 4429) and counted; the socket is no longer read, and a client
          // that does not finish the close handshake is cut off after a grace.
          overBudget = true;
          metrics.wsClosedForRate.inc({ route: 'ops' });
          metrics.errors.inc({ code: 'MESSAGE_RATE_EXCEEDED' });
          send(socket, {
            type: 'error',
            code: 'MESSAGE_RATE_EXCEEDED',
            message: ERROR_CODES.MESSAGE_RATE_EXCEEDED.message,
            fatal: true,
          });
          socket.close(ERROR_CODES.MESSAGE_RATE_EXCEEDED.ws, 'MESSAGE_RATE_EXCEEDED');
          socket.pause();
          graceTimer = setTimeout(() => socket.terminate(), RATE_CLOSE_GRACE_MS);
          return;
        }
        try {
          if (isBinary) throw new ProtocolError('ops messages are JSON text');
          const message = parseOpsClientMessage(data);
          if (message.type === 'ops_unsubscribe') {
            state.subscription = null;
            return;
          }
          const record = sessions.get(message.sessionId);
          // Following this session's current stream already: its points keep coming, nothing to resend.
          const current = state.subscription;
          if (current?.sessionId === record.id && current.live === record.live && record.live) return;
          state.subscription = { sessionId: record.id, live: null, lastFrameId: -1 };
          sendDetail(socket, state.subscription, record.live);
        } catch (error) {
          fail(socket, error);
        }
      });
      socket.on('close', () => {
        if (graceTimer) clearTimeout(graceTimer);
        sockets.delete(socket);
        if (sockets.size === 0) stopTimer();
      });
    },
  );
}
