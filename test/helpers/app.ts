/**
 * Starts the real app on port 0. All apps of one test run share one database
 * (a PGlite takes seconds to create): in-memory PGlite (in its worker thread),
 * or the server named by DATABASE_URL when it is set. `resetDatabase()` empties it between tests.
 */
import { Writable } from 'node:stream';
import { Kysely, PostgresDialect, sql } from 'kysely';
import createClient from 'openapi-fetch';
import type { Client } from 'openapi-fetch';
import type pg from 'pg';
import { buildApp } from '../../src/app.js';
import type { App, BuildOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDatabase, MEMORY_DATA_DIR } from '../../src/db/database.js';
import type { DatabaseHandle } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import type { Database } from '../../src/db/schema.js';
import type { paths } from '../../generated/openapi.js';
import { recordLogLine } from '../contract/coverage.js';

let shared: Promise<DatabaseHandle> | undefined;

/** The test run's database, migrated to the latest schema. */
export function sharedDatabase(): Promise<DatabaseHandle> {
  shared ??= (async () => {
    const database = await createDatabase({
      databaseUrl: process.env['DATABASE_URL'] || undefined,
      dataDir: MEMORY_DATA_DIR,
      dbPoolMax: 10,
      // PGLITE_THREAD=main runs the suite with PGlite on the main thread (to compare).
      pgliteThread: process.env['PGLITE_THREAD'] === 'main' ? 'main' : 'worker',
    });
    await migrateToLatest(database.db);
    return database;
  })();
  return shared;
}

after(async () => {
  if (shared !== undefined) await (await shared).close();
});

/** A database that never answers: migrations wait for ever, so an app on it never becomes ready. */
export function neverOpens(): DatabaseHandle {
  const pool = (): Promise<pg.Pool> => new Promise(() => undefined);
  return {
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
    kind: 'postgres',
    ping: async () => false,
    poolStats: () => undefined,
    withClient: () => new Promise(() => undefined),
    close: async () => undefined,
  };
}

/** Empties every application table (not the migration bookkeeping). */
export async function resetDatabase(): Promise<void> {
  const { db } = await sharedDatabase();
  const tables = await sql<{ tablename: string }>`
    select tablename from pg_tables
    where schemaname = 'public' and tablename not like 'kysely_migration%'`.execute(db);
  if (tables.rows.length === 0) return;
  const names = tables.rows.map((row) => sql.id(row.tablename));
  await sql`truncate ${sql.join(names)} restart identity cascade`.execute(db);
}

/** How many rows a table of the shared database has. */
export async function countRows(table: keyof Database): Promise<number> {
  const { db } = await sharedDatabase();
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Log lines the app wrote, parsed. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number };

/** A client typed from the contract (openapi-fetch over generated/openapi.d.ts). */
export type ApiClient = Client<paths>;

export interface TestApp {
  readonly app: App;
  readonly url: string;
  readonly logs: LogLine[];
  /**
   * The typed client: paths, parameters, bodies and answers are the contract's,
   * so a test that sends or reads a shape the contract does not have fails tsc.
   * Bodies the contract forbids (the hostile and invalid cases) go through `fetch`.
   */
  readonly api: ApiClient;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/**
 * Builds and starts an app with test settings; `env` overrides configuration variables.
 * @example const t = await startApp({ API_KEYS: 'k1' }); const res = await t.fetch('/health');
 */
export async function startApp(
  env: Record<string, string> = {},
  options: BuildOptions = {},
): Promise<TestApp> {
  const logs: LogLine[] = [];
  // Contract coverage counts only the real contract served by the real handlers.
  const covered = options.spec === undefined && options.handlers === undefined;
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const first = logs.length;
      for (const line of chunk.toString('utf8').split('\n'))
        if (line !== '') logs.push(JSON.parse(line) as LogLine);
      if (covered) for (const line of logs.slice(first)) recordLogLine(line);
      callback();
    },
  });
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256-0123456789',
    RESPONSE_VALIDATION: 'enforce',
    // Tests send far more requests from one address than a client would; the limits have their own tests.
    RATE_LIMIT_FACTOR: '0',
    // No grace period: closing a test app need not wait for load balancers (test/production/drain.test.ts does).
    SHUTDOWN_GRACE_MS: '0',
    ...env,
  });
  const database = env['DATABASE_URL'] === undefined ? await sharedDatabase() : undefined;
  const app = await buildApp(config, {
    logDestination,
    ...(database === undefined ? {} : { database }),
    ...options,
  });
  const address = await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${address.port}`;
  return {
    app,
    url,
    logs,
    api: createClient<paths>({ baseUrl: url }),
    fetch: (path, init) => fetch(`${url}${path}`, init),
    close: () => app.close(),
  };
}
