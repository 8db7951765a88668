import { describe, expect, it } from 'vitest';
import { LIVE_LIMITS, ProtocolError } from './live.ts';
import { parseHostEvent, parseHostRequest, type HostEvent, type HostRequest } from './webrtc-host.ts';

const candidate = {
  candidate: 'candidate:1 1 udp 1 198.19.0.1 5000 typ host',
  sdpMid: '0',
  sdpMLineIndex: 0,
};
const REQUESTS: HostRequest[] = [
  {
    type: 'open',
    id: 1,
    iceServers: [
      { urls: 'stun:stun.example.com' },
      { urls: ['turn:t.example.com'], username: 'u', credential: 'c' },
    ],
  },
  { type: 'offer', id: 1, rid: 1, sdp: 'v=0\r\n' },
  { type: 'ice', id: 1, rid: 2, candidate },
  { type: 'ice', id: 1, rid: 3, candidate: null },
  { type: 'arm', id: 1, notBefore: 0 },
  { type: 'close', id: 1 },
];
const frame = (width: number, height: number, bytes = width * height): HostEvent =>
  ({ type: 'frame', id: 1, width, height, data: new Uint8Array(bytes), capturedAt: 1 }) as HostEvent;
const EVENTS: HostEvent[] = [
  { type: 'ready' },
  { type: 'candidate', id: 1, candidate },
  { type: 'candidate', id: 1, candidate: null },
  frame(4, 3),
  { type: 'ended', id: 1, reason: 'peer connection failed' },
  { type: 'done', rid: 1, sdp: 'v=0\r\n' },
  { type: 'done', rid: 2, sdp: '' },
  { type: 'failed', rid: 3, message: 'no such peer' },
];

describe('WebRTC host IPC', () => {
  it.each(REQUESTS.map((r) => [r.type, r] as const))(
    'round-trips a %s request through a structured clone',
    (_type, request) => {
      expect(parseHostRequest(structuredClone(request))).toEqual(request);
    },
  );

  it.each(EVENTS.map((e) => [e.type, e] as const))(
    'round-trips a %s event through a structured clone',
    (_type, event) => {
      expect(parseHostEvent(structuredClone(event))).toEqual(event);
    },
  );

  it('keeps a frame’s pixels as the Uint8Array they came in', () => {
    const event = frame(2, 2);
    if (event.type === 'frame') event.data.set([1, 2, 3, 4]);
    const parsed = parseHostEvent(structuredClone(event));
    expect(parsed.type === 'frame' && parsed.data).toEqual(new Uint8Array([1, 2, 3, 4]));
  });

  it.each([
    ['pixels as an array', { ...frame(2, 2), data: [1, 2, 3, 4] }],
    ['fewer bytes than width × height', frame(4, 3, 11)],
    ['more bytes than width × height', frame(4, 3, 13)],
    ['a zero width', frame(0, 3, 1)],
    ['an unknown type', { type: 'crash', id: 1 }],
    ['a missing rid', { type: 'done', sdp: '' }],
    ['a fractional id', { type: 'ended', id: 1.5, reason: 'x' }],
    ['an extra field', { type: 'ready', pid: 1 }],
    ['an overlong message', { type: 'failed', rid: 1, message: 'x'.repeat(5000) }],
    ['a __proto__ key', JSON.parse('{"type":"ready","__proto__":{"polluted":true}}')],
    ['JSON text', '{"type":"ready"}'],
    ['bytes', new Uint8Array([123, 125])],
    ['null', null],
  ])('refuses an event with %s', (_label, raw) => {
    expect(() => parseHostEvent(raw)).toThrow(ProtocolError);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it.each([
    ['an oversized offer', { type: 'offer', id: 1, rid: 1, sdp: 'a'.repeat(LIVE_LIMITS.maxSdpLength + 1) }],
    ['a candidate without its string', { type: 'ice', id: 1, rid: 1, candidate: { sdpMid: '0' } }],
    ['a string id', { type: 'close', id: '1' }],
    ['ice servers without urls', { type: 'open', id: 1, iceServers: [{ username: 'u' }] }],
    ['a constructor key', { type: 'close', id: 1, constructor: { prototype: { polluted: true } } }],
  ])('refuses a request with %s', (_label, raw) => {
    expect(() => parseHostRequest(raw)).toThrow(ProtocolError);
  });
});
