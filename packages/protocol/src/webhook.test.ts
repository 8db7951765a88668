import { describe, expect, it } from 'vitest';
import { ProtocolError } from './live.ts';
import { WEBHOOK_LIMITS, parseWebhookEvent, type SessionFinishedEvent } from './webhook.ts';

const event: SessionFinishedEvent = {
  type: 'session.finished',
  id: 'evt_ses_AAAAAAAAAAAAAAAA',
  tenantId: 'acme',
  sessionId: 'ses_AAAAAAAAAAAAAAAA',
  reason: 'bye',
  verdict: 'matched',
  distance: 0.2,
  smoothedDistance: 0.21,
  similarity: 0.97,
  threshold: 0.5,
  framesAnalysed: 30,
  liveness: {
    mode: 'active',
    status: 'passed',
    challenges: [
      { index: 0, action: 'smile', status: 'passed', startsAt: 1000, deadline: 5000, decidedAt: 1800 },
      { index: 1, action: 'turn_left', status: 'passed', startsAt: 2800, deadline: 6800, decidedAt: 3500 },
    ],
    attempt: 1,
    retriesLeft: 1,
  },
  decision: 'verified',
  finishedAt: '2026-11-29T06:00:00.000Z',
};

describe('webhook events', () => {
  it('round-trips a session.finished body, with or without a score', () => {
    expect(parseWebhookEvent(JSON.stringify(event))).toEqual(event);
    const unscored = {
      ...event,
      reason: 'expired',
      verdict: 'pending',
      distance: null,
      smoothedDistance: null,
      similarity: null,
    };
    expect(parseWebhookEvent(JSON.stringify(unscored))).toEqual(unscored);
  });

  it.each([
    ['not JSON', '<html>'],
    ['another type', JSON.stringify({ ...event, type: 'session.started' })],
    ['an unknown reason', JSON.stringify({ ...event, reason: 'crashed' })],
    ['an unknown verdict', JSON.stringify({ ...event, verdict: 'maybe' })],
    ['a missing id', JSON.stringify({ ...event, id: undefined })],
    ['a negative frame count', JSON.stringify({ ...event, framesAnalysed: -1 })],
    ['an extra field', JSON.stringify({ ...event, admin: true })],
    ['a __proto__ key', `{"__proto__":{"polluted":true},${JSON.stringify(event).slice(1)}`],
    ['a constructor key', `{"constructor":{"prototype":{"polluted":true}},${JSON.stringify(event).slice(1)}`],
    [
      'a body over the bound',
      JSON.stringify({ ...event, tenantId: 'x'.repeat(WEBHOOK_LIMITS.maxBodyBytes) }),
    ],
  ])('refuses %s with BAD_MESSAGE', (_label, body) => {
    expect(() => parseWebhookEvent(body)).toThrow(ProtocolError);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
