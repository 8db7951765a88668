import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './errors.ts';
import { ProtocolError, parseClientMessage } from './live.ts';
import { PROTOCOL_VERSION } from './version.ts';

const VALID: unknown[] = [
  { type: 'hello', protocol: PROTOCOL_VERSION, token: 'tok_0123456789abcdef' },
  { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' },
  {
    type: 'ice',
    candidate: { candidate: 'candidate:1 1 udp 1 198.19.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 },
  },
  { type: 'enroll', source: 'frame' },
  { type: 'config', fps: 10 },
  { type: 'bye' },
];

/** Every outcome is a parsed message or a coded ProtocolError; nothing else may escape. */
function outcome(raw: unknown): 'ok' | 'rejected' {
  try {
    parseClientMessage(raw);
    return 'ok';
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    expect(ERROR_CODES[(error as ProtocolError).code]).toBeDefined();
    return 'rejected';
  }
}

describe('client message parser under fuzzing (fixed seed)', () => {
  it('survives arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        outcome(value);
        outcome(JSON.stringify(value));
      }),
      { numRuns: 5000, seed: 42 },
    );
  });

  it('survives arbitrary strings and bytes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 })), (raw) => {
        outcome(raw);
      }),
      { numRuns: 5000, seed: 7 },
    );
  });

  it('survives valid messages with mutated fields, and never accepts a changed type', () => {
    const mutated = fc.tuple(
      fc.constantFrom(...VALID),
      fc.string({ maxLength: 12 }),
      fc.oneof(fc.jsonValue(), fc.constant(undefined)),
    );
    fc.assert(
      fc.property(mutated, ([base, key, value]) => {
        const copy = { ...(base as Record<string, unknown>), [key]: value };
        const result = outcome(copy);
        if (key === 'type' && result === 'ok') {
          expect(['hello', 'offer', 'ice', 'enroll', 'config', 'bye']).toContain(value);
        }
      }),
      { numRuns: 5000, seed: 1234 },
    );
  });

  it('survives truncations of valid frames', () => {
    const texts = VALID.map((v) => JSON.stringify(v));
    fc.assert(
      fc.property(fc.constantFrom(...texts), fc.nat(), (text, cut) => {
        const result = outcome(text.slice(0, cut % (text.length + 1)));
        if (cut % (text.length + 1) < text.length) expect(result).toBe('rejected');
      }),
      { numRuns: 2000, seed: 99 },
    );
  });
});
