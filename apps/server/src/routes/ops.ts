import { VerificationError } from '@fv/core';
import {
  OPS_LIMITS,
  ProtocolError,
  parseOpsClientMessage,
  type OpsServerMessage,
  type OpsSnapshotMessage,
} from '@fv/protocol';
import type {} from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { wsErrorOf } from '../errors.ts';
import type { FramePipeline } from '../live/frame-pipeline.ts';
import type { LiveSession } from '../live/live-session.ts';
import type { SessionRecord, SessionStore } from '../live/session-store.ts';
import type { ServerMetrics } from '../metrics.ts';
import { MessageBudget, type MessageBudgetOptions } from '../message-budget.ts';
import { SocketBudget } from '../socket-budget.ts';
import { BatchSizeWindow, buildSnapshot, round, toWire } from './ops-snapshot.ts';

export interface OpsRouteOptions {
  sessions: SessionStore;
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

  const batches = new BatchSizeWindow();
  options.pipeline.onBatch((report) => batches.add(report.size));

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

  const snapshot = (now: number): OpsSnapshotMessage =>
    buildSnapshot({
      now,
      records: sessions.list(),
      batchHistogram: batches.histogram(now),
      rates,
      queueDepth: options.queueDepth ? options.queueDepth() : null,
      mode: options.mode,
      threshold: options.threshold,
    });

  const send = (socket: WebSocket, message: OpsServerMessage): void => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
  };
  /** Tells the dashboard (an `error` message); a fatal failure closes the socket with its code. */
  const fail = (socket: WebSocket, error: unknown, fatal = false): void => {
    const { code, message, close } = wsErrorOf(error, app.log, 'ops error');
    metrics.errors.inc({ code });
    send(socket, { type: 'error', code, message, fatal });
    if (fatal) socket.close(close, code);
  };

  /** The whole kept timeline of the session's current stream, which restarts the client's chart. */
  const sendDetail = (socket: WebSocket, subscription: OpsSubscription, record: SessionRecord): void => {
    const live = record.live;
    const points = live?.history() ?? [];
    subscription.live = live;
    subscription.lastFrameId = points.at(-1)?.frameId ?? -1;
    send(socket, {
      type: 'ops_session_detail',
      sessionId: subscription.sessionId,
      timeline: points.map(toWire),
      liveness: record.liveness,
    });
  };

  /** Points since the last message, or a fresh timeline when the session's stream changed. */
  const follow = (socket: WebSocket, subscription: OpsSubscription): boolean => {
    let record: SessionRecord;
    try {
      record = sessions.get(subscription.sessionId);
    } catch (error) {
      fail(socket, error);
      return false;
    }
    const live = record.live;
    if (live !== subscription.live) {
      if (live) sendDetail(socket, subscription, record);
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
        liveness: record.liveness,
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

      // Past it: said (error, then close 4429) and counted; the socket is no longer read.
      const budget = new SocketBudget(socket, budgetOptions, () => {
        metrics.wsClosedForRate.inc({ route: 'ops' });
        fail(socket, new VerificationError('MESSAGE_RATE_EXCEEDED'), true);
      });

      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (!budget.admit(data.length)) return;
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
          sendDetail(socket, state.subscription, record);
        } catch (error) {
          fail(socket, error);
        }
      });
      socket.on('close', () => {
        budget.close();
        sockets.delete(socket);
        if (sockets.size === 0) stopTimer();
      });
    },
  );
}
