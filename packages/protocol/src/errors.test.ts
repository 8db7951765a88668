import { describe, expect, it } from 'vitest';
import { ERROR_CODES, httpStatusOf, isErrorCode } from './errors.ts';

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
});
