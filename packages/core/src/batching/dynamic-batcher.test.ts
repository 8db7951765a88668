import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BatcherError, DynamicBatcher, type BatchReport } from './dynamic-batcher.ts';

/** A processor whose batches finish only when the test says so. */
function controlledProcessor(): {
  process: (items: number[]) => Promise<number[]>;
  calls: number[][];
  finish: (index: number) => void;
  fail: (index: number, error: Error) => void;
} {
  const calls: number[][] = [];
  const settle: { resolve: (v: number[]) => void; reject: (e: Error) => void }[] = [];
  return {
    calls,
    process: (items) =>
      new Promise((resolve, reject) => {
        calls.push(items);
        settle.push({ resolve, reject });
      }),
    finish: (i) => settle[i]!.resolve(calls[i]!.map((x) => x * 10)),
    fail: (i, e) => settle[i]!.reject(e),
  };
}

describe('DynamicBatcher', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts a batch as soon as maxBatch items wait', async () => {
    const p = controlledProcessor();
    const batcher = new DynamicBatcher(p.process, { maxBatch: 3, maxWaitMs: 1000 });
    const results = [1, 2, 3].map((x) => batcher.submit(x));
    expect(p.calls).toEqual([[1, 2, 3]]);
    p.finish(0);
    expect(await Promise.all(results)).toEqual([10, 20, 30]);
  });

  it('starts a partial batch when the oldest item has waited maxWaitMs', async () => {
    const p = controlledProcessor();
    const batcher = new DynamicBatcher(p.process, { maxBatch: 8, maxWaitMs: 5 });
    const a = batcher.submit(1);
    await vi.advanceTimersByTimeAsync(3);
    const b = batcher.submit(2);
    expect(p.calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(2);
    expect(p.calls).toEqual([[1, 2]]);
    p.finish(0);
    expect([await a, await b]).toEqual([10, 20]);
  });

  it('with incoming, waits for company only while some is on its way', async () => {
    const p = controlledProcessor();
    let incoming = 2;
    const batcher = new DynamicBatcher(p.process, { maxBatch: 8, maxWaitMs: 50, incoming: () => incoming });
    const a = batcher.submit(1);
    incoming = 1;
    expect(p.calls).toEqual([]); // one more is coming: the batch waits
    incoming = 0;
    const b = batcher.submit(2); // the last one: no timer is needed
    expect(p.calls).toEqual([[1, 2]]);
    // Nothing on its way: a lone item starts at once; with something coming it waits maxWaitMs.
    const c = batcher.submit(3);
    p.finish(0);
    expect([await a, await b]).toEqual([10, 20]);
    expect(p.calls).toEqual([[1, 2], [3]]);
    p.finish(1);
    expect(await c).toBe(30);
    incoming = 1;
    const d = batcher.submit(4);
    await vi.advanceTimersByTimeAsync(49);
    expect(p.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(p.calls).toEqual([[1, 2], [3], [4]]);
    p.finish(2);
    expect(await d).toBe(40);
  });

  it('reconsider() starts a waiting batch once nothing is on its way any more', async () => {
    const p = controlledProcessor();
    let incoming = 1;
    const batcher = new DynamicBatcher(p.process, { maxBatch: 8, maxWaitMs: 50, incoming: () => incoming });
    const a = batcher.submit(1);
    batcher.reconsider();
    expect(p.calls).toEqual([]); // still one on its way
    incoming = 0; // ...which brought no item (a frame without a face)
    batcher.reconsider();
    expect(p.calls).toEqual([[1]]);
    p.finish(0);
    expect(await a).toBe(10);
    await batcher.close();
    batcher.reconsider(); // closed: nothing to do, no throw
  });

  it('queues behind a running batch and reports each batch', async () => {
    const p = controlledProcessor();
    const reports: BatchReport[] = [];
    const batcher = new DynamicBatcher(p.process, { maxBatch: 2, maxWaitMs: 1 });
    batcher.on('batch', (r) => reports.push(r));
    const all = [1, 2, 3, 4, 5].map((x) => batcher.submit(x));
    expect(p.calls).toEqual([[1, 2]]);
    expect(batcher.queued).toBe(3);
    p.finish(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(p.calls[1]).toEqual([3, 4]);
    p.finish(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(p.calls[2]).toEqual([5]);
    p.finish(2);
    expect(await Promise.all(all)).toEqual([10, 20, 30, 40, 50]);
    expect(reports.map((r) => r.size)).toEqual([2, 2, 1]);
  });

  it('rejects every item of a failed batch and keeps going', async () => {
    const p = controlledProcessor();
    const batcher = new DynamicBatcher(p.process, { maxBatch: 2, maxWaitMs: 1 });
    const failed = [batcher.submit(1), batcher.submit(2)];
    p.fail(0, new Error('boom'));
    for (const f of failed) await expect(f).rejects.toThrow('boom');
    const ok = batcher.submit(3);
    await vi.advanceTimersByTimeAsync(1);
    p.finish(1);
    expect(await ok).toBe(30);
  });

  it('refuses items beyond maxQueue with QUEUE_FULL', async () => {
    const p = controlledProcessor();
    const batcher = new DynamicBatcher(p.process, { maxBatch: 1, maxWaitMs: 0, maxQueue: 2 });
    const first = batcher.submit(1); // running
    const queued = [batcher.submit(2), batcher.submit(3)];
    await expect(batcher.submit(4)).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    p.finish(0);
    await first;
    await vi.advanceTimersByTimeAsync(0);
    p.finish(1);
    await vi.advanceTimersByTimeAsync(0);
    p.finish(2);
    expect(await Promise.all(queued)).toEqual([20, 30]);
  });

  it('close() drains by default, then refuses new items; close({drain:false}) rejects waiting ones', async () => {
    const p = controlledProcessor();
    const batcher = new DynamicBatcher(p.process, { maxBatch: 4, maxWaitMs: 100 });
    const waiting = batcher.submit(1);
    const closed = batcher.close();
    expect(p.calls).toEqual([[1]]);
    p.finish(0);
    await closed;
    expect(await waiting).toBe(10);
    await expect(batcher.submit(2)).rejects.toBeInstanceOf(BatcherError);
    await batcher.close();

    const other = new DynamicBatcher(controlledProcessor().process, { maxBatch: 4, maxWaitMs: 100 });
    const dropped = other.submit(1);
    await other.close({ drain: false });
    await expect(dropped).rejects.toMatchObject({ code: 'BATCHER_CLOSED' });
  });

  it('validates its options', () => {
    const noop = async (xs: number[]): Promise<number[]> => xs;
    expect(() => new DynamicBatcher(noop, { maxBatch: 0 })).toThrow(TypeError);
    expect(() => new DynamicBatcher(noop, { maxWaitMs: -1 })).toThrow(TypeError);
    expect(() => new DynamicBatcher(noop, { concurrency: 1.5 })).toThrow(TypeError);
    expect(() => new DynamicBatcher(noop, { incoming: 3 as never })).toThrow(TypeError);
  });
});
