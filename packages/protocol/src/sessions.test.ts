import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import {
  CreateSessionFormSchema,
  SESSION_LIMITS,
  SessionCreatedSchema,
  SessionViewSchema,
} from './sessions.ts';

const created = {
  sessionId: 'ses_AAAAAAAAAAAAAAAA',
  token: `ses_AAAAAAAAAAAAAAAA.${'B'.repeat(32)}`,
  expiresAt: '2026-11-29T06:00:00.000Z',
  embedPath: '/embed?token=ses_AAAAAAAAAAAAAAAA.BBBB',
  allowedOrigins: ['https://shop.example'],
  liveness: 'active',
};
const view = {
  sessionId: 'ses_AAAAAAAAAAAAAAAA',
  state: 'ended',
  enrolled: true,
  verdict: 'matched',
  distance: 0.3,
  smoothedDistance: 0.31,
  similarity: 0.9,
  threshold: 0.5,
  framesAnalysed: 12,
  liveness: { mode: 'off', status: 'off', challenges: [], attempt: 0, retriesLeft: 0 },
  decision: 'verified',
  updatedAt: null,
  expiresAt: '2026-11-29T06:00:00.000Z',
};

describe('session HTTP bodies', () => {
  it('accept the bodies the routes answer with, after a JSON round trip', () => {
    expect(Value.Check(SessionCreatedSchema, JSON.parse(JSON.stringify(created)))).toBe(true);
    expect(Value.Check(SessionViewSchema, JSON.parse(JSON.stringify(view)))).toBe(true);
  });

  it.each([
    [SessionCreatedSchema, { ...created, token: 42 }],
    [SessionCreatedSchema, { ...created, allowedOrigins: 'https://shop.example' }],
    [SessionViewSchema, { ...view, state: 'paused' }],
    [SessionViewSchema, { ...view, decision: 'matched' }],
    [SessionCreatedSchema, { ...created, liveness: 'passive' }],
    [SessionViewSchema, { ...view, verdict: 'maybe' }],
    [SessionViewSchema, { ...view, framesAnalysed: 1.5 }],
  ])('refuse malformed bodies (%#)', (schema, body) => {
    expect(Value.Check(schema, body)).toBe(false);
  });

  it('documents the multipart form with its bounds', () => {
    const form = JSON.parse(JSON.stringify(CreateSessionFormSchema));
    expect(form.properties.reference).toMatchObject({ maxItems: SESSION_LIMITS.maxReferences });
    expect(form.properties.reference.items).toEqual({ type: 'string', format: 'binary' });
    expect(form.properties.allowedOrigin).toMatchObject({ maxItems: SESSION_LIMITS.maxOrigins });
    expect(form.required).toBeUndefined();
  });
});
