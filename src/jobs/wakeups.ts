/**
 * Wake-ups on PostgreSQL: a trigger on `jobs` (see the jobs migration) sends
 * NOTIFY jobs_due when jobs are inserted, delivered at commit; each runner
 * LISTENs on its own connection and looks for due jobs at once instead of at
 * the next poll. Only a shortcut: a lost connection or notification costs at
 * most one poll interval, because polling alone is correct.
 */
import pg from 'pg';
import type { Logger } from 'pino';

export const JOBS_CHANNEL = 'jobs_due';
const RECONNECT_MS = 5000;

export interface Wakeups {
  close(): Promise<void>;
}

/**
 * Listens on `databaseUrl` and calls `onWake` for each notification; reconnects after errors.
 * @example const wakeups = listenForJobs(url, log, () => runner.wake());
 */
export function listenForJobs(databaseUrl: string, log: Logger, onWake: () => void): Wakeups {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    if (closed) return;
    const next = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
    client = next;
    const lost = (error?: Error): void => {
      if (client !== next) return;
      client = undefined;
      void next.end().catch(() => undefined);
      if (closed) return;
      log.warn({ err: error }, 'jobs: wake-up connection lost; polling meanwhile, reconnecting');
      retry = setTimeout(() => void connect(), RECONNECT_MS);
      retry.unref();
    };
    next.on('error', lost);
    next.on('end', () => lost());
    next.on('notification', () => onWake());
    try {
      await next.connect();
      await next.query(`LISTEN ${JOBS_CHANNEL}`);
      if (closed) await next.end();
    } catch (error) {
      lost(error instanceof Error ? error : new Error(String(error)));
    }
  };
  void connect();

  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}
