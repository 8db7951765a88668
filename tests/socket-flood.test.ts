import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MESSAGE_BURST, DEFAULT_MESSAGES_PER_SECOND } from '../apps/server/src/message-budget.ts';
import { JpegSession, encodeClip, percentile } from './support/jpeg-load.ts';
import { sharedDataDir } from './support/shared-data.ts';
import { Flooder, type FloodConnection } from './support/socket-flood.ts';
import { startTestApp, type TestApp } from './support/test-app.ts';

const video = (name: string): string => path.join(sharedDataDir(), 'video', name);

/**
 * Quiet and flooded windows alternate, short, so that the machine's other load (a shared 2-core
 * box) drifts into both alike; a measurement that still came out over the bound is taken again, up
 * to `ATTEMPTS` times (a flood the server does not stop is over it every time, by far).
 */
const ROUNDS = 4;
const WINDOW_MS = 2000;
const ATTEMPTS = 3;
/** Flooded median frame → score over the quiet one, at most. */
const MAX_RATIO = 2;

interface Measurement {
  quiet: number[];
  flooded: number[];
  ratio: number;
  connections: FloodConnection[];
  sent: number;
}

describe('a socket flooding its stream', () => {
  let server: TestApp;
  let flooder: Flooder;

  beforeAll(async () => {
    [server, flooder] = await Promise.all([startTestApp(), Flooder.start()]);
  });
  afterAll(async () => {
    await flooder?.stop();
    await server?.close();
  });

  const closedForRate = async (): Promise<number> => {
    const body = (await server.app.inject('/metrics')).body;
    return Number(/^fv_ws_closed_for_rate_total\{route="stream"\} (\d+)/m.exec(body)?.[1] ?? NaN);
  };

  it("is closed with 4429 MESSAGE_RATE_EXCEEDED, counted, and leaves another session's frame→score latency where it was", async () => {
    const http = server.wsBase.replace(/^ws/, 'http');
    // The measured session: JPEG frames over its socket in real time, as a camera sends them.
    const frames = await encodeClip(video('person-a_320x240_3s.y4m'), 15);
    const victim = await JpegSession.open({
      url: http,
      reference: readFileSync(video('person-a_reference.jpg')),
    });
    victim.start(frames, 15);
    // Model and pipeline warm-up stays out of every window.
    await sleep(2000);

    // The flooding session, whose one token the flooder spends (and resumes with) in its own process.
    const target = await server.createSession();
    let token = target.token;
    const closesBefore = await closedForRate();

    /** Frame → score of the frames the server received inside `windows`. */
    const latencies = (windows: [number, number][]): number[] =>
      victim.scores
        .filter(({ score }) =>
          windows.some(([from, to]) => score.capturedAt >= from && score.capturedAt < to),
        )
        .map((s) => s.latencyMs);
    const measure = async (): Promise<Measurement> => {
      const quiet: [number, number][] = [];
      const flooded: [number, number][] = [];
      const connections: FloodConnection[] = [];
      let sent = 0;
      for (let round = 0; round < ROUNDS; round++) {
        const q = Date.now();
        await sleep(WINDOW_MS);
        quiet.push([q, Date.now()]);
        const f = Date.now();
        const report = await flooder.flood({
          url: `${server.wsBase}/v1/sessions/${target.sessionId}/stream`,
          token,
          durationMs: WINDOW_MS,
          maxMessages: 50_000_000,
          minReconnectMs: 100,
        });
        flooded.push([f, f + WINDOW_MS]);
        expect(report.failure).toBeNull();
        token = report.token;
        connections.push(...report.connections);
        sent += report.sent;
      }
      // Scores of the last frames still on their way.
      await sleep(500);
      const m = { quiet: latencies(quiet), flooded: latencies(flooded), connections, sent };
      return { ...m, ratio: percentile(m.flooded, 50) / percentile(m.quiet, 50) };
    };

    const measurements: Measurement[] = [];
    do measurements.push(await measure());
    while (measurements.at(-1)!.ratio > MAX_RATIO && measurements.length < ATTEMPTS);
    await victim.close();

    for (const m of measurements) {
      const floodSeconds = m.connections.reduce((s, c) => s + c.floodMs, 0) / 1000;
      console.log(
        `frame→score median ${percentile(m.quiet, 50)} ms quiet (${m.quiet.length} scores, p95 ${percentile(m.quiet, 95)}), ` +
          `${percentile(m.flooded, 50)} ms flooded (${m.flooded.length} scores, p95 ${percentile(m.flooded, 95)}): ` +
          `ratio ${m.ratio.toFixed(2)}; flood: ${m.connections.length} connections, ${m.sent} messages ` +
          `handed to their sockets (${Math.round(m.sent / Math.max(floodSeconds, 1e-3))}/s while sending), ` +
          `${m.connections.reduce((n, c) => n + c.states, 0)} states answered`,
      );
    }

    // Every flooding connection was cut off by the server, said so, and closed with 4429.
    const connections = measurements.flatMap((m) => m.connections);
    expect(connections.length).toBeGreaterThanOrEqual(ROUNDS * measurements.length);
    for (const c of connections) {
      expect(c).toMatchObject({
        stoppedByClient: false,
        error: { code: 'MESSAGE_RATE_EXCEEDED', fatal: true },
        close: { code: 4429, reason: 'MESSAGE_RATE_EXCEEDED' },
      });
      expect(c.sent).toBeGreaterThan(DEFAULT_MESSAGE_BURST);
      // Answered no more than the budget let in (the burst, what it refilled meanwhile, and the
      // state after the welcome), however much more it sent.
      expect(c.states).toBeLessThanOrEqual(
        DEFAULT_MESSAGE_BURST + Math.ceil((DEFAULT_MESSAGES_PER_SECOND * c.floodMs) / 1000) + 1,
      );
    }
    expect((await closedForRate()) - closesBefore).toBe(connections.length);

    // The measured session went on untouched: never refused, its latency where it was.
    expect(victim.closedByServer).toBeNull();
    expect(victim.errors).toEqual([]);
    const last = measurements.at(-1)!;
    expect(last.quiet.length).toBeGreaterThanOrEqual(20);
    expect(last.flooded.length).toBeGreaterThanOrEqual(20);
    expect(last.ratio).toBeLessThanOrEqual(MAX_RATIO);
  }, 240_000);
});
