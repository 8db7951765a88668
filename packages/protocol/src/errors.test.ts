import type { Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  ERROR_CODES,
  ErrorCodeSchema,
  WS_CLOSE_CODES,
  httpStatusOf,
  isErrorCode,
  wsCloseCodeOf,
  type ErrorCode,
} from './errors.ts';

describe('error-code table', () => {
  it('gives every code an HTTP error status, a WebSocket close code and a message', () => {
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      expect(entry.http, code).toBeGreaterThanOrEqual(400);
      expect(entry.http, code).toBeLessThan(600);
      // 1011 (internal error) or the application range 4000–4999 of RFC 6455.
      expect(entry.ws === 1011 || (entry.ws >= 4000 && entry.ws <= 4999), code).toBe(true);
      expect(entry.message.length, code).toBeGreaterThan(0);
    }
  });

  it('recognises codes from untrusted input', () => {
    expect(isErrorCode('NO_FACE')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode(42)).toBe(false);
    expect(httpStatusOf('IMAGE_TOO_LARGE')).toBe(413);
  });

  it('gives each code its close code, and keeps the other close codes out of the table’s range', () => {
    expect(wsCloseCodeOf('UNAUTHORIZED')).toBe(4401);
    expect(wsCloseCodeOf('INTERNAL')).toBe(1011);
    const tableCodes = new Set<number>(Object.values(ERROR_CODES).map((entry) => entry.ws));
    for (const close of Object.values(WS_CLOSE_CODES)) {
      expect(tableCodes.has(close), String(close)).toBe(false);
      expect(close).toBeLessThan(4000);
    }
  });

  it('has a schema that accepts exactly the table’s codes', () => {
    expectTypeOf<Static<typeof ErrorCodeSchema>>().toEqualTypeOf<ErrorCode>();
    for (const code of Object.keys(ERROR_CODES)) expect(Value.Check(ErrorCodeSchema, code), code).toBe(true);
    for (const value of ['no_face', 'toString', '__proto__', '', 42, null])
      expect(Value.Check(ErrorCodeSchema, value), String(value)).toBe(false);
  });
});
