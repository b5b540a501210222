/**
 * Opens the database: a pg Pool on DATABASE_URL, or on embedded PGlite under
 * dataDir, which runs in a worker thread and serves a Unix socket (embedded.ts;
 * docs/embedded-database.md), so both run one dialect and one SQL over `pg`.
 * PGLITE_THREAD=main keeps PGlite on the main thread behind its node-postgres adapter.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { PGlite, PGliteOptions } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { ClientConfig, CustomTypesConfig } from 'pg';
import type { Config } from '../config.js';
import { lockDataDir } from './data-dir-lock.js';
import { kyselyPool } from './kysely-pool.js';
import type { DataDirLock } from './data-dir-lock.js';
import { MEMORY_DATA_DIR, openEmbedded } from './embedded.js';
import { loadPgliteExtensions, PGLITE_EXTENSIONS } from './pglite-extensions.js';
import type { Database } from './schema.js';

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: 'postgres' | 'pglite';
  /**
   * True when `select 1` answers within timeoutMs; never throws. On PGlite the
   * one connection may be busy: a transaction longer than timeoutMs makes it false.
   */
  ping(timeoutMs?: number): Promise<boolean>;
  /**
   * Runs `work` on a pool client of its own and releases it after (destroying it
   * if `work` failed): for what Kysely cannot express, such as COPY streams
   * (repos/file-chunks.repo.ts). On PGlite that is the one connection: keep `work` short.
   */
  withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** The pool's connections (for /metrics); undefined until the database is open. */
  poolStats(): { total: number; idle: number; waiting: number } | undefined;
  /** Ends the pool, then closes PGlite. Safe to call twice. */
  close(): Promise<void>;
}

export interface DatabaseLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export { MEMORY_DATA_DIR };

const INT8_OID = 20;
const INT8_ARRAY_OID = 1016;

function parseInt8(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new RangeError(`int8 value ${value} is beyond 2^53`);
  return parsed;
}

type TypeParser = (value: string) => unknown;
const builtinParser = pg.types.getTypeParser as (oid: number, format?: 'text' | 'binary') => TypeParser;
// pg-types' d.ts calls arrayParser a function; at run time it is { create(source, parse) }.
const arrayParser = pg.types.arrayParser as unknown as {
  create(source: string, parse: (entry: string) => number): { parse(): unknown[] };
};

/**
 * Per-pool type parsers (the global pg.types registry stays untouched):
 * int8 → number; numeric stays a string so money is exact; timestamptz → Date.
 */
export const pgTypes: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): TypeParser => {
    if (format !== 'binary') {
      if (oid === INT8_OID) return parseInt8;
      if (oid === INT8_ARRAY_OID) return (value) => arrayParser.create(value, parseInt8).parse();
    }
    return builtinParser(oid, format);
  }) as CustomTypesConfig['getTypeParser'],
};

/** A pool on DATABASE_URL, or embedded PGlite under dataDir, and what closes it. */
type OpenConfig = Pick<Config, 'databaseUrl' | 'dataDir' | 'dbPoolMax'> &
  Partial<Pick<Config, 'dbStatementTimeoutMs' | 'pgliteThread'>>;

export interface OpenOptions {
  /**
   * When another process holds the embedded data directory: refuse (a server;
   * the default) or connect to the database that process serves (the CLI tools).
   */
  readonly whenInUse?: 'refuse' | 'connect';
  /** PGlite extensions to load (name → module); PGLITE_EXTENSIONS by default. */
  readonly extensions?: Readonly<Record<string, string>>;
}

/** How long a query on the embedded database waits for another connection's transaction to end. */
const EMBEDDED_WAIT_TIMEOUT_MS = 30_000;

interface OpenedPool {
  readonly pool: pg.Pool;
  readonly kind: DatabaseHandle['kind'];
  readonly afterPoolEnd?: () => Promise<void>;
}

async function openPool(
  config: OpenConfig,
  log: DatabaseLogger | undefined,
  options: OpenOptions,
): Promise<OpenedPool> {
  if (config.databaseUrl !== undefined) {
    const pool = new pg.Pool({
      connectionString: config.databaseUrl,
      max: config.dbPoolMax,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
      // The server cancels a statement that runs longer (a stuck query must not hold a request for ever).
      ...(config.dbStatementTimeoutMs ? { statement_timeout: config.dbStatementTimeoutMs } : {}),
      types: pgTypes,
    });
    listenForErrors(pool, log, 'database');
    log?.info({ kind: 'postgres', poolMax: config.dbPoolMax }, 'database pool created');
    return { pool, kind: 'postgres' };
  }
  const extensions = options.extensions ?? PGLITE_EXTENSIONS;
  if (config.pgliteThread === 'main') return openPgliteInProcess(config.dataDir, extensions, log);
  const started = Date.now();
  const embedded = await openEmbedded(config.dataDir, {
    whenInUse: options.whenInUse ?? 'refuse',
    extensions,
    waitTimeoutMs: EMBEDDED_WAIT_TIMEOUT_MS,
    onWorkerError: (err) => log?.warn({ err }, 'embedded database thread failed'),
  });
  try {
    const pgliteMs = await embedded.ready;
    const pool = new pg.Pool({
      ...embedded.address,
      user: 'postgres',
      database: 'postgres',
      max: config.dbPoolMax,
      // Kept open: a new connection costs a startup exchange in PGlite.
      idleTimeoutMillis: 0,
      connectionTimeoutMillis: EMBEDDED_WAIT_TIMEOUT_MS,
      // An idle pool must not keep a process alive (a CLI tool that has finished).
      allowExitOnIdle: true,
      types: pgTypes,
    });
    listenForErrors(pool, log, 'embedded database');
    log?.info(
      {
        kind: 'pglite',
        thread: 'worker',
        dataDir: config.dataDir,
        ms: Date.now() - started,
        ...(embedded.owned ? { pgliteMs: Math.round(pgliteMs) } : { servedBy: 'another process' }),
      },
      'embedded database opened',
    );
    return { pool, kind: 'pglite', afterPoolEnd: () => embedded.close() };
  } catch (error) {
    await embedded.close();
    throw error;
  }
}

/** An idle client, or a checked-out one, losing its connection: logged, never a crash. */
function listenForErrors(pool: pg.Pool, log: DatabaseLogger | undefined, what: string): void {
  // An idle client losing its connection (server restart, network) emits here;
  // without a listener that would crash the process. The pool replaces the client.
  pool.on('error', (err) => log?.warn({ err }, `idle ${what} client error`));
  // A client that is checked out when its connection drops emits 'error' too,
  // and the pool only listens on idle ones: unheard, that event would crash the
  // process. Its query has already failed (and is answered 503); the pool then
  // discards the client. This listener only keeps the process alive.
  pool.on('connect', (client) => {
    client.on('error', (err) => log?.warn({ err: { message: err.message } }, `${what} connection lost`));
  });
}

/** PGlite on the main thread (PGLITE_THREAD=main): its WASM work runs on the event loop. */
async function openPgliteInProcess(
  dataDir: string,
  extensions: Readonly<Record<string, string>>,
  log: DatabaseLogger | undefined,
): Promise<OpenedPool> {
  const started = Date.now();
  const { pglite, lock } = await openPglite(dataDir, extensions);
  const pool = await pglitePool(pglite);
  pool.on('error', (err) => log?.warn({ err }, 'embedded database client error'));
  log?.info(
    { kind: 'pglite', thread: 'main', dataDir, ms: Date.now() - started },
    'embedded database opened',
  );
  const afterPoolEnd = async (): Promise<void> => {
    try {
      await pglite.close();
    } finally {
      await lock?.release();
    }
  };
  return { pool, kind: 'pglite', afterPoolEnd };
}

/**
 * Starts opening the configured database and returns at once. `prepare`
 * (migrations) runs on the open pool first; every query made through
 * `handle.db` waits until both are done, so a server can listen (and answer
 * liveness) while PGlite is still opening. `ready` rejects if either fails.
 */
export function openDatabase(
  config: OpenConfig,
  log?: DatabaseLogger,
  prepare: (db: Kysely<Database>) => Promise<void> = async () => {},
  options: OpenOptions = {},
): DatabaseHandle & { readonly ready: Promise<void> } {
  const opened = openPool(config, log, options);
  let openPoolRef: pg.Pool | undefined;
  opened.then(
    ({ pool }) => {
      openPoolRef = pool;
    },
    () => undefined,
  );
  const ready = opened.then(async ({ pool }) => {
    // A second Kysely on the same pool, not gated; never destroyed (that would end the pool).
    await prepare(new Kysely<Database>({ dialect: new PostgresDialect({ pool: kyselyPool(pool) }) }));
  });
  // Kysely calls this once, on the first query.
  const gatedPool = async (): Promise<pg.Pool> => {
    await ready;
    return (await opened).pool;
  };
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: async () => kyselyPool(await gatedPool()) }),
  });
  const kind: DatabaseHandle['kind'] = config.databaseUrl === undefined ? 'pglite' : 'postgres';
  let closing: Promise<void> | undefined;
  return {
    db,
    kind,
    ready,
    ping: (timeoutMs = 1000) => ping(db, timeoutMs),
    async withClient(work) {
      const client = await (await gatedPool()).connect();
      let failed = false;
      try {
        return await work(client);
      } catch (error) {
        failed = true;
        throw error;
      } finally {
        client.release(failed);
      }
    },
    poolStats: () =>
      openPoolRef === undefined
        ? undefined
        : { total: openPoolRef.totalCount, idle: openPoolRef.idleCount, waiting: openPoolRef.waitingCount },
    close() {
      closing ??= (async () => {
        const open = await opened.catch(() => undefined);
        if (open === undefined) return; // it never opened: nothing to close
        const { pool, afterPoolEnd } = open;
        await db.destroy(); // ends the pool when a query ever ran through db
        if (!pool.ended) await pool.end();
        await afterPoolEnd?.();
      })();
      return closing;
    },
  };
}

/**
 * Opens the configured database and waits until it answers. The schema is not migrated here; see migrate.ts.
 * @example const { db, close } = await createDatabase({ databaseUrl: undefined, dataDir: 'memory://', dbPoolMax: 1 });
 */
export async function createDatabase(
  config: OpenConfig,
  log?: DatabaseLogger,
  options: OpenOptions = {},
): Promise<DatabaseHandle> {
  const database = openDatabase(config, log, undefined, options);
  await database.ready;
  return database;
}

/**
 * Measured here (2 cores, Node 20, PGlite 0.5.17, ready = waitReady resolved):
 * creating a new data dir 5-7 s (8 s on a cold first run), reopening an existing
 * one 0.6-1.0 s, memory:// about 4 s (it is always new). ~0.8 GB RSS while creating.
 * An on-disk directory is locked first (data-dir-lock.ts): a second process is
 * refused rather than allowed to write into a copy that will be lost.
 */
async function openPglite(
  dataDir: string,
  extensionSpecs: Readonly<Record<string, string>>,
): Promise<{ pglite: PGlite; lock: DataDirLock | undefined }> {
  // Imported here, not at the top: a server on DATABASE_URL never loads PGlite (~200 ms of start-up).
  const { PGlite } = await import('@electric-sql/pglite');
  const extensions = (await loadPgliteExtensions(extensionSpecs)) as PGliteOptions['extensions'];
  const options: PGliteOptions = extensions === undefined ? {} : { extensions };
  if (dataDir === MEMORY_DATA_DIR) {
    const pglite = new PGlite(MEMORY_DATA_DIR, options);
    await pglite.waitReady;
    return { pglite, lock: undefined };
  }
  const dir = path.join(dataDir, 'pglite');
  await mkdir(dir, { recursive: true });
  const lock = await lockDataDir(dataDir);
  try {
    const pglite = new PGlite(dir, options);
    await pglite.waitReady;
    return { pglite, lock };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/**
 * pg Pool over PGlite's node-postgres adapter, size 1 (PGlite is one backend
 * session). Checked by experiment: concurrent Kysely transactions take turns on
 * the one client, so neither sees the other's uncommitted writes (a second one
 * waits until the first ends), and numUpdatedRows / numDeletedRows are right.
 * Unlike createPgConfig's shared `connection`, each client gets its own adapter
 * connection: with the shared one, a client created right after another was
 * discarded received the old one's late 'end' ("Connection terminated
 * unexpectedly" for a query that did run) and the next query got wrong rows.
 */
async function pglitePool(pglite: PGlite): Promise<pg.Pool> {
  const { createPgConfig, PglitePgConnection } = await import('@electric-sql/pglite/node-postgres');
  const { connection: _shared, ...adapterConfig } = createPgConfig(pglite);
  class PGliteClient extends pg.Client {
    constructor(clientConfig: ClientConfig = {}) {
      super({ ...clientConfig, connection: new PglitePgConnection({ pglite }) } as ClientConfig);
    }
  }
  // idleTimeoutMillis 0: keep the one client; there is nothing to save by dropping it.
  // connectionTimeoutMillis: a query on `db` inside a transaction waits for the
  // client that transaction holds; fail after 30 s instead of hanging for ever.
  return new pg.Pool({
    ...adapterConfig,
    max: adapterConfig.poolSize,
    Client: PGliteClient,
    idleTimeoutMillis: 0,
    connectionTimeoutMillis: 30_000,
    types: pgTypes,
  });
}

async function ping(db: Kysely<Database>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  // The query may outlive the timeout; its late rejection is swallowed by the catch.
  const answered = sql`select 1`.execute(db).then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([answered, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
