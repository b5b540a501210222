/**
 * The Redis connection for shared rate-limit counters (REDIS_URL). Commands
 * never queue while it is down: the limiter falls back to counting in this
 * process until it is back, and the log says so once per outage.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisHandle {
  readonly client: Redis;
  /** Resolves once connected, or after the connect timeout (the limiter then counts in-process until it is). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export function openRedis(url: string, log: Logger): RedisHandle {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 5_000),
  });
  let down = false;
  client.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log.warn({ err: { message: err.message } }, 'redis unavailable: rate limits count in this process');
  });
  client.on('ready', () => {
    if (down) log.info('redis is back: rate limits are shared again');
    down = false;
  });
  const ready = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2_000);
    timer.unref();
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return {
    client,
    ready,
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
