/**
 * Composition root: builds the dependencies, the contract at run time and the
 * HTTP server from a config. Building is separate from listening, so tests
 * start as many apps as they like on port 0.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Kysely } from 'kysely';
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import type { Config } from './config.js';
import { apiKeySecurity } from './auth/api-key.js';
import { bearerSecurity } from './auth/bearer.js';
import { createPasswordHasher } from './auth/passwords.js';
import { createLoginThrottle } from './auth/throttle.js';
import { createTokenService } from './auth/tokens.js';
import { loadSpec } from './contract/spec.js';
import type { Spec } from './contract/spec.js';
import type { SecurityHandlers } from './contract/types.js';
import { createValidation } from './contract/validation.js';
import { openDatabase } from './db/database.js';
import type { DatabaseHandle } from './db/database.js';
import type { Database } from './db/schema.js';
import { migrateToLatest } from './db/migrate.js';
import { promoteToAdmin } from './db/repos/users.repo.js';
import type { Deps } from './deps.js';
import { createFileStorage } from './files/storage.js';
import { sweepOrphans } from './files/sweep.js';
import { handlers as contractHandlers } from './handlers/index.js';
import type { AnyHandler } from './http/backend.js';
import { createHttpApp } from './http/index.js';

export interface BuildOptions {
  /** Another contract and its handlers (tests and benchmarks); defaults to the real ones. */
  readonly spec?: Spec;
  readonly handlers?: Readonly<Record<string, AnyHandler>>;
  readonly security?: SecurityHandlers;
  /** An already open database to use instead of opening one; the app will not close it. */
  readonly database?: DatabaseHandle;
  /**
   * Wait for the database to open and migrate before returning (default). The
   * server passes false to listen at once: liveness answers meanwhile, and
   * every query waits for `ready`.
   */
  readonly waitUntilReady?: boolean;
  /** Where log lines go (tests capture them); stdout by default. */
  readonly logDestination?: DestinationStream;
  readonly log?: Logger;
}

export interface App {
  readonly server: Server;
  readonly deps: Deps;
  /** Settles when the database is open and migrated; rejects if that failed. */
  readonly ready: Promise<void>;
  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish (bounded), then closes the database. */
  close(): Promise<void>;
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<App> {
  const log =
    options.log ??
    pino(
      { level: config.logLevel, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
      options.logDestination ?? pino.destination(1),
    );
  if (config.jwtSecretGenerated) {
    log.warn('JWT_SECRET is not set: using a random secret, so tokens die with this process');
  }

  // Migrations, then the ADMIN_EMAIL promotion, before any request may query.
  const prepare = async (db: Kysely<Database>): Promise<void> => {
    const started = Date.now();
    if (config.migrateOnStart) await migrateToLatest(db);
    if (config.adminEmail !== undefined && (await promoteToAdmin(db, config.adminEmail))) {
      log.info({ email: config.adminEmail }, 'ADMIN_EMAIL: account promoted to admin');
    }
    log.info({ ms: Date.now() - started }, 'database ready');
  };
  const ownsDatabase = options.database === undefined;
  let database: DatabaseHandle;
  let databaseReady: Promise<void>;
  if (options.database === undefined) {
    const opening = openDatabase(config, log, prepare);
    database = opening;
    databaseReady = opening.ready;
  } else {
    database = options.database;
    databaseReady = prepare(database.db);
  }

  const spec = options.spec ?? loadSpec();
  const validation = createValidation(spec);
  const background = options.waitUntilReady === false;
  // In the background, the validators compile between requests, one operation a turn.
  const validatorsReady = background
    ? validation.warmUpInBackground()
    : new Promise<void>((resolve) => {
        validation.warmUp();
        resolve();
      });
  const ready = Promise.all([databaseReady, validatorsReady]).then(() => undefined);
  // Failures are reported through `ready` (and below), never as an unhandled rejection.
  ready.catch(() => undefined);
  if (!background) {
    try {
      await ready;
    } catch (error) {
      if (ownsDatabase) await database.close();
      throw error;
    }
  }

  const deps: Deps = {
    config,
    log,
    db: database.db,
    database,
    auth: {
      passwords: createPasswordHasher(config.argon2),
      tokens: createTokenService(config),
      throttle: createLoginThrottle(database.db, config.loginThrottle),
    },
    files: {
      storage: createFileStorage(config.files, database.db),
    },
  };
  // Bytes a crash or a deleted account left without a row; in the background, once the database is ready.
  void ready.then(
    async () => {
      try {
        const removed = await sweepOrphans(
          deps.db,
          deps.files.storage,
          config.files.sweepAfterSeconds * 1000,
        );
        if (removed > 0) log.info({ removed }, 'removed orphaned file objects');
      } catch (error) {
        log.warn({ err: error }, 'orphaned file sweep failed');
      }
    },
    () => undefined,
  );
  const app = await createHttpApp({
    config,
    spec,
    validation,
    handlers: options.handlers ?? contractHandlers,
    security: options.security ?? { ...apiKeySecurity(config.apiKeys), OAuth2PasswordBearer: bearerSecurity },
    deps,
  });

  const server = createServer(app);
  server.requestTimeout = config.requestTimeoutMs;
  server.headersTimeout = config.headersTimeoutMs;
  // Longer than a load balancer's idle timeout, so the balancer closes idle connections first.
  server.keepAliveTimeout = config.keepAliveTimeoutMs;

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    const stopped = new Promise<void>((resolve) => {
      server.close(() => resolve());
    });
    server.closeIdleConnections();
    const timer = setTimeout(() => {
      log.warn('shutdown timeout: closing the remaining connections');
      server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    timer.unref();
    // `close` only waits when the server is listening.
    if (server.listening) await stopped;
    clearTimeout(timer);
    if (ownsDatabase) await database.close();
  };

  return {
    server,
    deps,
    ready,
    listen(port = config.port, host = config.host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close() {
      closing ??= close();
      return closing;
    },
  };
}
