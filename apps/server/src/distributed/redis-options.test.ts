import { describe, expect, it } from 'vitest';
import { redisOptionsFromUrl } from './redis-options.ts';

describe('redisOptionsFromUrl', () => {
  it('maps host, port, credentials, database and TLS', () => {
    expect(redisOptionsFromUrl('redis://127.0.0.1:6390')).toMatchObject({
      host: '127.0.0.1',
      port: 6390,
      db: 0,
    });
    expect(redisOptionsFromUrl('rediss://u:p%40ss@cache.example.com/3')).toMatchObject({
      host: 'cache.example.com',
      port: 6379,
      username: 'u',
      password: 'p@ss',
      db: 3,
      tls: {},
      maxRetriesPerRequest: null,
    });
  });
  it('rejects other schemes', () => {
    expect(() => redisOptionsFromUrl('http://x')).toThrow(TypeError);
  });
});
