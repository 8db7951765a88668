import { describe, expect, it } from 'vitest';
import { EMBED_SOURCE, EMBED_VERSION, isEmbedStop, parseEmbedMessage, type EmbedMessage } from './embed.ts';
import { ProtocolError } from './live.ts';

const envelope = { source: EMBED_SOURCE, version: EMBED_VERSION, sessionId: 'ses_AAAAAAAAAAAAAAAA' } as const;
const EVENTS: EmbedMessage[] = [
  { ...envelope, type: 'ready' },
  { ...envelope, type: 'started', transport: 'webrtc' },
  { ...envelope, type: 'score', distance: 0.4, similarity: 0.8, verdict: 'matched' },
  { ...envelope, type: 'score', distance: null, similarity: null, verdict: 'no_face' },
  { ...envelope, type: 'verdict', verdict: 'not_matched', distance: 1.2, similarity: 0.4 },
  { ...envelope, type: 'error', code: 'CAMERA_DENIED', message: 'Camera access was denied.', fatal: false },
  { ...envelope, type: 'challenge', index: 0, count: 3, action: 'turn_left', windowMs: 4000 },
  {
    ...envelope,
    type: 'liveness',
    liveness: { mode: 'active', status: 'pending', challenges: [], attempt: 1, retriesLeft: 1 },
    decision: 'pending',
  },
  {
    ...envelope,
    type: 'finished',
    verdict: 'matched',
    distance: 0.4,
    decision: 'verified',
    reason: 'stopped',
  },
];

describe('embed page events', () => {
  it.each(EVENTS.map((e) => [e.type, e] as const))(
    'round-trips %s through a structured clone and JSON',
    (_type, event) => {
      expect(parseEmbedMessage(structuredClone(event))).toEqual(event);
      expect(parseEmbedMessage(JSON.stringify(event))).toEqual(event);
    },
  );

  it.each([
    ['another source', { ...EVENTS[0], source: 'fv-embedx' }],
    ['another version', { ...EVENTS[0], version: 1 }],
    ['an unknown type', { ...envelope, type: 'progress' }],
    ['an unknown transport', { ...EVENTS[1], transport: 'carrier-pigeon' }],
    ['an unknown verdict', { ...EVENTS[2], verdict: 'maybe' }],
    ['a similarity over 1', { ...EVENTS[2], similarity: 1.5 }],
    ['an empty error code', { ...EVENTS[5], code: '' }],
    ['a missing field', { ...envelope, type: 'finished', verdict: 'matched', distance: 0.4 }],
    ['an extra field (the token)', { ...EVENTS[0], token: 'ses_x.secret' }],
    ['a __proto__ key', JSON.parse(`{"__proto__":{"polluted":true},${JSON.stringify(EVENTS[0]).slice(1)}`)],
    ['a constructor key', { ...EVENTS[0], constructor: { prototype: { polluted: true } } }],
    ['null', null],
    ['a string that is no JSON', 'ready'],
  ])('refuses %s with BAD_MESSAGE', (_label, data) => {
    expect(() => parseEmbedMessage(data)).toThrow(ProtocolError);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('recognises the host page’s stop, and nothing else', () => {
    expect(isEmbedStop({ source: 'fv-host', type: 'stop' })).toBe(true);
    // Other fields were always ignored; they still are.
    expect(isEmbedStop({ source: 'fv-host', type: 'stop', at: 1 })).toBe(true);
    for (const data of [{ source: 'fv-host', type: 'start' }, { type: 'stop' }, 'stop', null, [], 42])
      expect(isEmbedStop(data)).toBe(false);
  });
});
