import { describe, expect, it } from 'vitest';
import { ProtocolError } from './live.ts';
import { QUEUE_LIMITS, parseEmbedJob, parseEmbedResult, type EmbedJob, type EmbedResult } from './queue.ts';

const job: EmbedJob = {
  gateway: '0b6f8f4e-5a2d-4c1e-9d7a-3f2b1c0d9e8f',
  crops: Buffer.alloc(2 * 2914, 7).toString('base64'),
  count: 2,
  deadline: 1_800_000_000_000,
  model: 'a'.repeat(64),
};
const done: EmbedResult = {
  jobId: 'c1d2e3f4-0000-4000-8000-000000000000',
  ok: true,
  embeddings: Buffer.from(new Float32Array([0.5, -0.25]).buffer).toString('base64'),
  size: 1,
};
const failed: EmbedResult = { jobId: '', ok: false, reason: 'model-mismatch', message: 'other weights' };

describe('embed jobs', () => {
  it('round-trips a job through BullMQ’s JSON, with or without a model', () => {
    expect(parseEmbedJob(JSON.parse(JSON.stringify(job)))).toEqual(job);
    const { model: _model, ...anyModel } = job;
    expect(parseEmbedJob(anyModel)).toEqual(anyModel);
  });

  it.each([
    ['no gateway', { ...job, gateway: '' }],
    ['no crops', { ...job, crops: '' }],
    ['a fractional count', { ...job, count: 1.5 }],
    ['no faces', { ...job, count: 0 }],
    ['too many faces', { ...job, count: QUEUE_LIMITS.maxCropsPerJob + 1 }],
    ['crops as bytes', { ...job, crops: [1, 2, 3] }],
    ['a missing deadline', { ...job, deadline: undefined }],
    ['an extra field', { ...job, priority: 1 }],
    ['a __proto__ key', JSON.parse(`{"__proto__":{"polluted":true},${JSON.stringify(job).slice(1)}`)],
    ['a constructor key', { ...job, constructor: { prototype: { polluted: true } } }],
    ['null', null],
    ['an array', [job]],
  ])('refuses a job with %s', (_label, raw) => {
    expect(() => parseEmbedJob(raw)).toThrow(ProtocolError);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('embed results', () => {
  it('round-trips both outcomes through the result channel’s JSON text', () => {
    expect(parseEmbedResult(JSON.stringify(done))).toEqual(done);
    expect(parseEmbedResult(JSON.stringify(failed))).toEqual(failed);
  });

  it.each([
    ['not JSON', 'OK'],
    ['ok without embeddings', JSON.stringify({ jobId: 'x', ok: true, size: 1 })],
    ['a failure with embeddings', JSON.stringify({ ...failed, embeddings: '', size: 0 })],
    ['an unknown reason', JSON.stringify({ ...failed, reason: 'busy' })],
    ['ok as a string', JSON.stringify({ ...done, ok: 'true' })],
    ['a negative size', JSON.stringify({ ...done, size: -1 })],
    ['a numeric job id', JSON.stringify({ ...done, jobId: 7 })],
    ['a __proto__ key', `{"__proto__":{"polluted":true},${JSON.stringify(done).slice(1)}`],
    [
      'text over the bound',
      `{"jobId":"x","ok":true,"size":1,"embeddings":"${'A'.repeat(QUEUE_LIMITS.maxResultBytes)}"}`,
    ],
  ])('refuses %s with BAD_MESSAGE', (_label, text) => {
    expect(() => parseEmbedResult(text)).toThrow(ProtocolError);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
