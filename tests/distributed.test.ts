import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FaceVerifier } from '@fv/core';
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, loadConfig } from '@fv/server';
import type { WebSocket } from 'ws';
import type { ServerMessage } from '@fv/protocol';
import { connect, multipart, streamJpeg, type Inbox } from './support/live-client.ts';
import { TestRedis } from './support/redis-server.ts';
import { MODEL_DIR, REPO_ROOT, sharedDataDir } from './support/shared-data.ts';
import { SERVER_COMMAND } from './support/server-process.ts';
import { PROTOCOL_VERSION } from '@fv/protocol';

const video = (name: string): string => path.join(sharedDataDir(), 'video', name);

interface WorkerProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

/** An inference worker process (ROLE=worker), ready once its HTTP side listens. */
async function startWorker(redisUrl: string, queueName: string): Promise<WorkerProcess> {
  const child = spawn(SERVER_COMMAND[0], SERVER_COMMAND[1], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ROLE: 'worker',
      REDIS_URL: redisUrl,
      QUEUE_NAME: queueName,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${log}`)), 60_000);
    const onData = (d: Buffer): void => {
      log += d.toString();
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => reject(new Error(`worker exited with ${code}:\n${log}`)));
  });
  return { child, url, exited };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A process's state letter from /proc (`T`: stopped by a signal). */
const processState = (pid: number): string => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!;
};

/** Stops a process (SIGSTOP) and resolves once the kernel has stopped it: it runs nothing until SIGCONT. */
async function freeze(pid: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  while (processState(pid) !== 'T') await sleep(1);
}

async function facesEmbedded(worker: WorkerProcess): Promise<number> {
  const text = await (await fetch(`${worker.url}/metrics`)).text();
  return Number(/^fv_worker_faces_total\{outcome="embedded"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

describe('distributed mode: gateway → BullMQ/Redis → two worker processes', () => {
  let redis: TestRedis;
  let verifier: FaceVerifier;
  let gateway: FastifyInstance;
  let base: string;
  const workers: WorkerProcess[] = [];
  const queueName = `fv-test-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    redis = await TestRedis.start();
    verifier = await FaceVerifier.create({ modelDir: MODEL_DIR, embedder: { intraOpThreads: 1 } });
    workers.push(
      ...(await Promise.all([startWorker(redis.url, queueName), startWorker(redis.url, queueName)])),
    );
    gateway = await buildApp({
      config: loadConfig({
        REDIS_URL: redis.url,
        ROLE: 'gateway',
        QUEUE_NAME: queueName,
        DETECT_WORKERS: '1',
      }),
      verifier,
      logger: false,
    });
    base = (await gateway.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
  });

  afterAll(async () => {
    await gateway?.close();
    await verifier?.close();
    for (const w of workers) {
      if (w.child.exitCode === null) {
        w.child.kill('SIGTERM');
        await w.exited;
      }
    }
    await redis?.stop();
  });

  /**
   * Creates a session with person A's reference on the gateway and says hello on its stream, which
   * `streamBase` may place on another gateway.
   */
  const open = async (
    streamBase = base,
  ): Promise<{
    sessionId: string;
    token: string;
    socket: WebSocket;
    inbox: Inbox;
    welcome: ServerMessage;
  }> => {
    const res = await gateway.inject({
      method: 'POST',
      url: '/v1/sessions',
      ...multipart([['reference', readFileSync(video('person-a_reference.jpg'))]]),
    });
    const { sessionId, token } = res.json();
    const { socket, inbox } = await connect(`${streamBase}/v1/sessions/${sessionId}/stream`);
    socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
    const welcome = await inbox.next((m) => m.type === 'welcome');
    return { sessionId, token, socket, inbox, welcome };
  };

  /**
   * Streams `clip` `loops` times, calling `during` after the first second; returns scores and errors,
   * and when each arrived.
   */
  const streamWith = async (
    clip: string,
    loops: number,
    during: () => Promise<void>,
  ): Promise<{
    verdicts: string[];
    errors: string[];
    scoreTimes: number[];
    errorTimes: number[];
    sessionId: string;
  }> => {
    const { sessionId, socket, inbox } = await open();
    const scoreTimes: number[] = [];
    const errorTimes: number[] = [];
    socket.on('message', (d: Buffer) => {
      const text = d.toString();
      if (text.startsWith('{"type":"score"')) scoreTimes.push(Date.now());
      else if (text.startsWith('{"type":"error"')) errorTimes.push(Date.now());
    });
    const streaming = (async () => {
      for (let i = 0; i < loops; i++) await streamJpeg(socket, video(clip));
    })();
    await new Promise((r) => setTimeout(r, 1000));
    await during();
    await streaming;
    await new Promise((r) => setTimeout(r, 400));
    socket.close();
    return {
      verdicts: inbox.messages.flatMap((m) => (m.type === 'score' ? [m.verdict] : [])),
      errors: inbox.messages.flatMap((m) => (m.type === 'error' ? [m.code] : [])),
      scoreTimes,
      errorTimes,
      sessionId,
    };
  };

  const session = async (clip: string): Promise<string> => {
    const { socket, inbox } = await open();
    await streamJpeg(socket, video(clip));
    await new Promise((r) => setTimeout(r, 400));
    const scores = inbox.messages.filter((m) => m.type === 'score');
    expect(scores.length).toBeGreaterThanOrEqual(10);
    expect(inbox.messages.filter((m) => m.type === 'error')).toEqual([]);
    socket.close();
    return scores.at(-1)!.type === 'score' ? (scores.at(-1) as { verdict: string }).verdict : 'none';
  };

  it('scores person A as matched and person B as not_matched, with the work spread over both workers', async () => {
    const [a, b] = await Promise.all([
      session('person-a_320x240_3s.y4m'),
      session('person-b_320x240_3s.y4m'),
    ]);
    expect(a).toBe('matched');
    expect(b).toBe('not_matched');
    const perWorker = await Promise.all(workers.map(facesEmbedded));
    expect(perWorker.every((n) => n > 0)).toBe(true);
    expect(perWorker.reduce((s, n) => s + n, 0)).toBeGreaterThanOrEqual(20);
    // The queue really ran on this suite's own Redis (not on some server at the default port).
    const client = new Redis(redis.url);
    const stats = await client.info('stats');
    client.disconnect();
    expect(Number(/total_commands_processed:(\d+)/.exec(stats)?.[1])).toBeGreaterThan(200);
  });

  it('shares sessions across gateways: created on one, streamed on another, read back anywhere', async () => {
    const other = await buildApp({
      config: loadConfig({
        REDIS_URL: redis.url,
        ROLE: 'gateway',
        QUEUE_NAME: queueName,
        DETECT_WORKERS: '0',
      }),
      verifier,
      logger: false,
    });
    try {
      const otherBase = (await other.listen({ port: 0, host: '127.0.0.1' })).replace('http', 'ws');
      // Created on this suite's gateway, streamed on the other one.
      const { sessionId, token, socket, welcome } = await open(otherBase);
      expect(welcome).toMatchObject({ enrolled: true });
      await streamJpeg(socket, video('person-a_320x240_3s.y4m'));
      await new Promise((r) => setTimeout(r, 400));
      // The token was spent on the other gateway: it is refused here too.
      const replay = await connect(`${base}/v1/sessions/${sessionId}/stream`);
      replay.socket.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, token }));
      expect(await replay.inbox.next((m) => m.type === 'error')).toMatchObject({ code: 'UNAUTHORIZED' });
      socket.close();
      // The creating gateway answers with the result the streaming gateway shared.
      const view = (await gateway.inject(`/v1/sessions/${sessionId}`)).json();
      expect(view).toMatchObject({ sessionId, verdict: 'matched', enrolled: true });
      expect(view.framesAnalysed).toBeGreaterThanOrEqual(10);
    } finally {
      await other.close();
    }
  });

  it('survives a Redis restart mid-stream: scoring resumes within a few seconds, nothing crashes or is lost', async () => {
    let restartedAt = 0;
    const { verdicts, errors, scoreTimes, sessionId } = await streamWith(
      'person-a_320x240_3s.y4m',
      3,
      async () => {
        await redis.restart();
        restartedAt = Date.now();
      },
    );
    const resumed = scoreTimes.find((t) => t > restartedAt);
    expect(resumed, 'no score after the restart').toBeDefined();
    expect(resumed! - restartedAt).toBeLessThan(5000);
    expect(verdicts.at(-1)).toBe('matched');
    // Frames caught in the outage end as coded, non-fatal errors, never as a crash.
    expect(errors.every((c) => c === 'INFERENCE_FAILED')).toBe(true);
    expect(workers.every((w) => w.child.exitCode === null)).toBe(true);
    // The shared session state was written again after the restart wiped Redis.
    const client = new Redis(redis.url);
    const shared = await client.hgetall(`${queueName}:session:${sessionId}`);
    client.disconnect();
    expect(shared['used']).toBe('1');
    expect(JSON.parse(shared['lastScore']!)).toMatchObject({ verdict: 'matched' });
  });

  it('a worker killed while it holds a job loses only that job: its frame times out at the gateway and the session goes on', async () => {
    const victim = await startWorker(redis.url, queueName);
    // BullMQ's own keys (default prefix): the jobs workers hold, and each job's data and lock.
    const activeKey = `bull:${queueName}:active`;
    const jobKey = (id: string): string => `bull:${queueName}:${id}`;
    const client = new Redis(redis.url);
    // Every result any worker publishes, by job id: a job already answered is not lost by a kill.
    const answered = new Map<string, { ok: boolean }>();
    const results = new Redis(redis.url);
    results.on('pmessage', (_pattern: string, _channel: string, text: string) => {
      const result = JSON.parse(text) as { jobId: string; ok: boolean };
      answered.set(result.jobId, result);
    });
    await results.psubscribe(`${queueName}:results:*`);
    // The other workers are stopped (SIGSTOP: they run nothing, so they take no job) until the kill,
    // leaving the victim the only consumer: any job active meanwhile is the victim's.
    const standing = workers.filter((w) => w.child.exitCode === null);
    let held: { id: string; deadline: number; count: number; lock: string | null }[] = [];
    let killedAt = 0;
    try {
      for (let i = 0; i < 50 && (await client.llen(activeKey)) > 0; i++) await sleep(100);
      for (const w of standing) await freeze(w.child.pid!);
      expect(await client.llen(activeKey), 'jobs held by the stopped workers').toBe(0);
      const { verdicts, errors, scoreTimes, errorTimes } = await streamWith(
        'person-a_320x240_3s.y4m',
        3,
        async () => {
          // The stopped workers each took one job's wake-up signal with them, so the first jobs
          // wait for the victim's next poll and time out; start once the victim embeds.
          const giveUp = Date.now() + 15_000;
          while ((await facesEmbedded(victim)) === 0) {
            if (Date.now() > giveUp) throw new Error('the victim embedded nothing');
            await sleep(50);
          }
          // Stop the victim at random moments until it is caught holding a job it has not answered
          // and whose frame the gateway still waits for, then kill it there: it dies holding that job.
          while (held.length === 0) {
            if (Date.now() > giveUp) throw new Error('the victim was never caught holding a job');
            await sleep(Math.random() * 20);
            await freeze(victim.child.pid!);
            // Results it published before it stopped reach the subscriber before the job list is read.
            await sleep(20);
            const active = await client.lrange(activeKey, 0, -1);
            await sleep(20);
            const jobs = await Promise.all(
              active
                .filter((id) => !answered.has(id))
                .map(async (id) => {
                  const [data, lock] = await Promise.all([
                    client.hget(jobKey(id), 'data'),
                    client.get(`${jobKey(id)}:lock`),
                  ]);
                  const { deadline, count } = JSON.parse(data!) as { deadline: number; count: number };
                  return { id, deadline, count, lock };
                }),
            );
            held = jobs.filter((job) => job.deadline > Date.now() + 100);
            if (held.length === 0) victim.child.kill('SIGCONT');
          }
          victim.child.kill('SIGKILL');
          await victim.exited;
          killedAt = Date.now();
          for (const w of standing) w.child.kill('SIGCONT');
        },
      );

      expect(held.length).toBeGreaterThanOrEqual(1);
      for (const job of held) {
        // A job the victim had taken (locked by its worker) with at least one frame's crop in it...
        expect(job.lock, `job ${job.id} has no lock`).toEqual(expect.any(String));
        expect(job.count).toBeGreaterThanOrEqual(1);
        // ...that no other worker answered (jobs are never retried: a late frame is worthless)...
        expect(answered.has(job.id), `job ${job.id} was answered`).toBe(false);
        // ...so the gateway gave it up at its deadline: a coded, non-fatal error reached the session.
        expect(
          errorTimes.filter((t) => t >= job.deadline - 5 && t < job.deadline + 2000),
          `no error at job ${job.id}'s deadline`,
        ).toHaveLength(1);
      }
      // Only the held jobs' frames were lost after the kill; every error is INFERENCE_FAILED.
      expect(errorTimes.filter((t) => t > killedAt)).toHaveLength(held.length);
      expect(new Set(errors)).toEqual(new Set(['INFERENCE_FAILED']));
      // The session goes on with the other workers.
      expect(scoreTimes.filter((t) => t > killedAt).length).toBeGreaterThanOrEqual(5);
      expect(verdicts.length).toBeGreaterThanOrEqual(20);
      expect(verdicts.at(-1)).toBe('matched');
    } finally {
      for (const w of standing) w.child.kill('SIGCONT');
      if (victim.child.exitCode === null && victim.child.signalCode === null) {
        victim.child.kill('SIGKILL');
        await victim.exited;
      }
      results.disconnect();
      client.disconnect();
    }
  });

  it('a worker shuts down gracefully on SIGTERM (exit 0) and the other keeps serving', async () => {
    const leaving = workers[1]!;
    leaving.child.kill('SIGTERM');
    expect(await leaving.exited).toBe(0);
    expect(await session('person-a_320x240_3s.y4m')).toBe('matched');
  });
});
