import type { RedisOptions } from 'ioredis';

/**
 * ioredis connection options from a `redis://` / `rediss://` URL. BullMQ's `connection` takes
 * options, not a URL (an unknown `url` key would silently fall back to localhost:6379).
 */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const u = new URL(url);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new TypeError(`not a Redis URL: ${url}`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new TypeError(`bad Redis database in ${url}`);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    ...(u.username && { username: decodeURIComponent(u.username) }),
    ...(u.password && { password: decodeURIComponent(u.password) }),
    db,
    ...(u.protocol === 'rediss:' && { tls: {} }),
    // BullMQ requires this for its blocking connections; commands wait out reconnects.
    maxRetriesPerRequest: null,
  };
}
