import {
  OPS_LIMITS,
  type OpsPoint,
  type OpsSession,
  type OpsSessionState,
  type OpsSnapshotMessage,
} from '@fv/protocol';
import type { ScorePoint } from '../live/score-history.ts';
import type { SessionRecord } from '../live/session-store.ts';

const BATCH_WINDOW_S = 60;
const LATENCY_WINDOW_MS = 30_000;

export const round = (value: number, digits = 4): number => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};
const roundOrNull = (value: number | null): number | null => (value === null ? null : round(value));

/** A score point as the dashboard receives it. */
export const toWire = (p: ScorePoint): OpsPoint => ({
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

/** Embedding batch sizes per wall-clock second, the last minute of them (bounded whatever the load). */
export class BatchSizeWindow {
  readonly #seconds = Array.from({ length: BATCH_WINDOW_S }, () => ({
    second: -1,
    counts: new Map<number, number>(),
  }));

  add(size: number, now: number = Date.now()): void {
    const second = Math.floor(now / 1000);
    const bucket = this.#seconds[second % BATCH_WINDOW_S]!;
    if (bucket.second !== second) {
      bucket.second = second;
      bucket.counts.clear();
    }
    bucket.counts.set(size, (bucket.counts.get(size) ?? 0) + 1);
  }

  /** Batches per size over the last minute, by size. */
  histogram(now: number): { size: number; count: number }[] {
    const histogram = new Map<number, number>();
    const nowSecond = Math.floor(now / 1000);
    for (const bucket of this.#seconds) {
      if (nowSecond - bucket.second >= BATCH_WINDOW_S) continue;
      for (const [size, count] of bucket.counts) histogram.set(size, (histogram.get(size) ?? 0) + count);
    }
    return [...histogram].sort(([a], [b]) => a - b).map(([size, count]) => ({ size, count }));
  }
}

export interface SnapshotInput {
  readonly now: number;
  /** This gateway's sessions, newest first. */
  readonly records: SessionRecord[];
  readonly batchHistogram: { size: number; count: number }[];
  readonly rates: { framesPerSecond: number; droppedPerSecond: number };
  readonly queueDepth: number | null;
  readonly mode: string;
  /** Shown for a session until it has scored. */
  readonly threshold: number;
}

/** One `ops_snapshot`: the system's numbers and a row per session (the newest, up to the limit). */
export function buildSnapshot(input: SnapshotInput): OpsSnapshotMessage {
  const { now, records } = input;
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
      threshold: score?.threshold ?? input.threshold,
      fps: live ? round(live.analysedFps(), 1) : 0,
      targetFps: live?.fps ?? 0,
      framesReceived: counts.received,
      framesAnalysed: record.framesAnalysed,
      liveness: record.liveness.status,
      decision: record.decision,
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
      ...input.rates,
      queueDepth: input.queueDepth,
      batchHistogram: input.batchHistogram,
      latencyMs: {
        p50: roundOrNull(quantile(latencies, 0.5)),
        p95: roundOrNull(quantile(latencies, 0.95)),
      },
      mode: input.mode,
    },
    sessions: rows,
    omitted: Math.max(0, records.length - rows.length),
  };
}
