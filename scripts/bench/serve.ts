/**
 * Helpers shared by the benchmark's server entry scripts (the children that
 * scripts/bench.ts spawns): the one-line port announcement the parent waits
 * for, and a clean exit on SIGTERM/SIGINT.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DestinationStream } from 'pino';
import { loadConfig } from '../../src/config.js';
import { collectStartupGarbage } from '../../src/heap.js';
import { logDestination } from '../../src/log.js';

/** What a child prints on stdout, as one JSON line, once it is listening. */
export interface Announcement {
  readonly port: number;
  /** Optional facts the parent may print (e.g. how the child was built). */
  readonly [key: string]: unknown;
}

/** Loopback only: nothing the benchmark starts is reachable from outside this machine. */
export const HOST = '127.0.0.1';

/**
 * Listens on a free loopback port and announces it on stdout. Before it
 * announces, it collects start-up's garbage as the server entry point does
 * once it is ready (src/heap.ts), so every child is measured in the state a
 * real server serves in.
 * @example await listenAndAnnounce(createServer(handler));
 */
export async function listenAndAnnounce(
  server: Server,
  extra: Record<string, unknown> = {},
): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  collectStartupGarbage();
  const { port } = server.address() as AddressInfo;
  const announcement: Announcement = { ...extra, port };
  process.stdout.write(`${JSON.stringify(announcement)}\n`);
  return port;
}

/**
 * Exits 0 after `close` on SIGTERM/SIGINT. A normal exit matters: `--cpu-prof`
 * only writes its profile when the process exits by itself, not when killed.
 */
export function exitOnSignal(close: () => Promise<void>): void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    // Bounded: a stuck close must not keep the child (and so the benchmark) alive.
    setTimeout(() => process.exit(1), 5000).unref();
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** Closes a server, dropping its keep-alive connections instead of waiting for them. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * The per-request log destination for the app children: the stream the real
 * server builds (`logDestination` in src/log.ts, a buffered SonicBoom with
 * the same LOG_BUFFER_BYTES), but on /dev/null. So the cost of building and
 * writing every log line is counted; only the terminal is left out.
 */
export function devNullLog(): DestinationStream {
  return logDestination(loadConfig(benchAppEnv()), '/dev/null');
}

/**
 * The environment the app children (and the bare baselines that share their
 * config) build their config from.
 *
 * By default the database is a pg pool on a URL nothing listens on and
 * migrations are off: a pool opens no connection until the first query, and
 * the /health and synthetic operations never query, so the app is the real
 * one with no database cost or start-up delay.
 *
 * The database sections set BENCH_DATABASE_URL (PostgreSQL) or BENCH_DATA_DIR
 * (PGlite) for the child instead: a database that seed.ts has already migrated.
 */
export function benchAppEnv(): Record<string, string | undefined> {
  const url = process.env['BENCH_DATABASE_URL'];
  const dataDir = process.env['BENCH_DATA_DIR'];
  return {
    ...process.env,
    HOST,
    PORT: '0',
    LOG_LEVEL: 'info',
    DATABASE_URL: dataDir === undefined ? (url ?? 'postgres://bench@127.0.0.1:9/unused') : undefined,
    DATA_DIR: dataDir,
    MIGRATE_ON_START: 'false',
    // Both servers do the same work per request (createOrder's transaction enqueues its activity
    // job in both); running the queued jobs is background work, measured in the jobs section.
    JOBS_ENABLED: process.env['JOBS_ENABLED'] ?? 'false',
    // Counted as in production, but never refused: one load generator is one client.
    RATE_LIMIT_FACTOR: '1000000',
    // The same secret in every child, so a token minted by one is valid in the others.
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123456789',
  };
}
