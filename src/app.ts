/**
 * Composition root: builds the dependencies, the contract at run time and the
 * HTTP server from a config. Building is separate from listening, so tests
 * start as many apps as they like on port 0.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DestinationStream, Logger } from 'pino';
import type { Config } from './config.js';
import { createLogger } from './log.js';
import { apiKeySecurity } from './auth/api-key.js';
import { bearerSecurity } from './auth/bearer.js';
import { createPasswordHasher } from './auth/passwords.js';
import { createRateLimits } from './auth/rate-limits.js';
import { openRedis } from './auth/redis.js';
import { createLoginThrottle } from './auth/throttle.js';
import { createTokenService } from './auth/tokens.js';
import { loadSpec } from './contract/spec.js';
import type { Spec } from './contract/spec.js';
import type { SecurityHandlers } from './contract/types.js';
import { createValidation } from './contract/validation.js';
import { openDatabase } from './db/database.js';
import type { DatabaseHandle } from './db/database.js';
import type { AppDb } from './db/schema.js';
import { migrateToLatest } from './db/migrate.js';
import { pruneRateLimits, rateLimitStoreClient } from './db/repos/rate-limits.repo.js';
import { promoteToAdmin } from './db/repos/users.repo.js';
import type { Deps } from './deps.js';
import { acceptingQuiet, trackConnections } from './drain.js';
import { countJobs } from './db/repos/jobs.repo.js';
import { createMetrics } from './metrics.js';
import { createFileStorage } from './files/create-storage.js';
import { sweepOrphans } from './files/sweep.js';
import { handlers as contractHandlers } from './handlers/index.js';
import type { AnyHandler } from './http/backend.js';
import { createHttp } from './http/index.js';
import type { PipelineHooks } from './http/index.js';
import { accessTokenQuerySecurity, attachRealtime } from './realtime/index.js';
import type { Realtime } from './realtime/index.js';
import { createBus } from './realtime/bus.js';
import { createJobRunner, jobHandlers } from './jobs/index.js';
import type { JobHandlers, JobRunner } from './jobs/index.js';
import { createMailer } from './mail/mailer.js';
import type { Mailer } from './mail/mailer.js';

/** How often expired rate-limit counters are deleted from PostgreSQL. */
const RATE_LIMIT_PRUNE_MS = 5 * 60_000;
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
  /** Another mailer (tests); defaults to SMTP_URL's, or the log. */
  readonly mailer?: Mailer;
  /** Job kinds the workers run; defaults to src/jobs/kinds. */
  readonly jobHandlers?: JobHandlers;
  /** Stages added to every operation's pipeline (rate limits, audit lines; see src/http/pipeline.ts). */
  readonly hooks?: PipelineHooks;
}

export interface App {
  readonly server: Server;
  readonly deps: Deps;
  /** The WebSockets served on `server` (src/realtime). */
  readonly realtime: Realtime;
  /** Settles when the database is open and migrated; rejects if that failed. */
  readonly ready: Promise<void>;
  /** This process's job workers (started once the database is ready, when JOBS_ENABLED). */
  readonly jobs: JobRunner;
  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /**
   * Drains: readiness 503 for SHUTDOWN_GRACE_MS while still serving and accepting; then, once
   * accepting has gone quiet, stops accepting, answers with `Connection: close`, closes
   * connections once idle and quiet, lets in-flight requests finish (SHUTDOWN_TIMEOUT_MS after
   * the grace period, then cut), then closes the database.
   */
  close(): Promise<void>;
}

/** How long an idle connection (or the listener) must have been quiet before the drain closes it. */
const IDLE_QUIET_MS = 500;

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<App> {
  const log = options.log ?? createLogger(config, options.logDestination);
  if (config.jwtSecretGenerated) {
    log.warn('JWT_SECRET is not set: using a random secret, so tokens die with this process');
  }

  // Migrations, then the ADMIN_EMAIL promotion, before any request may query.
  const prepare = async (db: AppDb): Promise<void> => {
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
  const redis =
    config.redisUrl !== undefined && config.rateLimitFactor > 0 ? openRedis(config.redisUrl, log) : undefined;
  const ready = Promise.all([databaseReady, validatorsReady, redis?.ready]).then(() => undefined);
  // Failures are reported through `ready` (and below), never as an unhandled rejection.
  ready.catch(() => undefined);
  if (!background) {
    try {
      await ready;
    } catch (error) {
      await redis?.close();
      if (ownsDatabase) await database.close();
      throw error;
    }
  }

  // Shutdown has two stages: `stopping` (readiness 503) from the signal on, `draining`
  // (every answer closes its connection) once the server no longer accepts.
  let stopping = false;
  let draining = false;
  const deps: Deps = {
    config,
    log,
    validation,
    lifecycle: { stopping: () => stopping },
    db: database.db,
    database,
    metrics: createMetrics({
      poolStats: () => database.poolStats(),
      processMetrics: config.metricsAccess !== 'off',
    }),
    auth: {
      passwords: createPasswordHasher(config.argon2),
      tokens: createTokenService(config),
      throttle: createLoginThrottle(database.db, config.loginThrottle),
      rateLimits: createRateLimits(spec, {
        factor: config.rateLimitFactor,
        store:
          redis !== undefined
            ? { kind: 'redis', client: redis.client }
            : database.kind === 'postgres'
              ? { kind: 'postgres', client: rateLimitStoreClient(database.db) }
              : undefined,
      }),
    },
    files: {
      storage: createFileStorage(config.files, database),
    },
  };
  // The gate opens with the database (validators left to warm up compile on first use anyway).
  let isReady = false;
  databaseReady.then(
    () => {
      isReady = true;
    },
    () => undefined,
  );
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
  const http = await createHttp({
    config,
    spec,
    validation,
    handlers: options.handlers ?? contractHandlers,
    security: options.security ?? {
      ...apiKeySecurity(config.apiKeys),
      OAuth2PasswordBearer: bearerSecurity,
      AccessTokenQuery: accessTokenQuerySecurity,
    },
    deps,
    draining: () => draining,
    ready: () => isReady,
    ...(options.hooks === undefined ? {} : { hooks: options.hooks }),
  });

  const mailer = options.mailer ?? createMailer(config.mail, log);
  const jobs = createJobRunner({
    db: database.db,
    log,
    mailer,
    config: config.jobs,
    handlers: options.jobHandlers ?? jobHandlers,
  });
  // Workers claim only once migrations ran; a failed start is reported through `ready`.
  if (config.jobs.enabled) {
    void ready.then(
      () => jobs.start(),
      () => undefined,
    );
  }

  const server = createServer(http.listener);
  const connections = trackConnections(server);
  server.requestTimeout = config.requestTimeoutMs;
  server.headersTimeout = config.headersTimeoutMs;
  // Longer than a load balancer's idle timeout, so the balancer closes idle connections first.
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  // WebSockets on the same server; across processes through LISTEN/NOTIFY when on PostgreSQL.
  const realtime = attachRealtime({
    server,
    deps,
    spec,
    validation,
    bus: createBus(config, database, log),
    ready: () => isReady,
  });
  // Empty (not an error) while the database is opening or away: /metrics matters most then.
  deps.metrics.labelledGauge('jobs', 'Background jobs in the queue table, by status.', 'status', () =>
    isReady ? countJobs(database.db).catch(() => ({})) : Promise.resolve({}),
  );
  deps.metrics.gauge('websocket_connections', 'Open WebSocket connections on this process.', () => {
    return realtime.connectionCount;
  });

  // Shared rate-limit counters whose window ended an hour ago are deleted now and then.
  const pruneTimer =
    database.kind === 'postgres' && redis === undefined && config.rateLimitFactor > 0
      ? setInterval(() => {
          if (!isReady) return;
          pruneRateLimits(database.db, Date.now() - 3_600_000).catch((error: unknown) => {
            log.warn({ err: error }, 'pruning rate-limit counters failed');
          });
        }, RATE_LIMIT_PRUNE_MS)
      : undefined;
  pruneTimer?.unref();

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    stopping = true;
    clearInterval(pruneTimer);
    // Read before close(): `listening` turns false at once, while connections still drain.
    const wasListening = server.listening;
    // Sockets first (1001), or the server would wait for them.
    await realtime.close();
    if (wasListening && config.shutdownGraceMs > 0) {
      // Grace: readiness 503 and everything else served as usual, still accepting, so a load
      // balancer moves new traffic away first. Keep-alive is kept on purpose: a client told to
      // close would reconnect at once, and a connection still waiting in the kernel's accept
      // queue when the listener closes is reset (measured: 49 of 50 looping clients).
      log.info({ graceMs: config.shutdownGraceMs }, 'shutting down: readiness 503 during the grace period');
      await new Promise((resolve) => setTimeout(resolve, config.shutdownGraceMs));
    }
    // SHUTDOWN_TIMEOUT_MS counts from here: the rest is cut then.
    const deadline = performance.now() + config.shutdownTimeoutMs;
    // Connections still in the kernel's accept queue would be reset by closing the listener.
    if (wasListening && config.shutdownGraceMs > 0)
      await acceptingQuiet(connections, IDLE_QUIET_MS, config.shutdownTimeoutMs / 2);
    // From now on every answer carries `Connection: close`: its client opens a new connection
    // for its next request, which is refused before anything is sent.
    draining = true;
    const stopped = new Promise<void>((resolve) => {
      if (!wasListening) {
        resolve();
        return;
      }
      // http's close() also calls closeIdleConnections(), which resets a connection whose request
      // is still in its socket buffer; connections.closeQuietIdle below does that job safely.
      // (An own property shadows the prototype's method for this one call, then goes.)
      server.closeIdleConnections = () => undefined;
      server.close(() => resolve());
      Reflect.deleteProperty(server, 'closeIdleConnections');
    });
    log.info({ connections: connections.size }, 'stopped accepting; draining the open connections');
    const quietMs = Math.min(IDLE_QUIET_MS, config.shutdownGraceMs);
    const look = (): void => {
      setImmediate(() => connections.closeQuietIdle(quietMs));
    };
    look();
    const sweep = setInterval(look, 50);
    const timer = setTimeout(() => {
      log.warn({ connections: connections.size }, 'shutdown timeout: closing the remaining connections');
      server.closeAllConnections();
    }, deadline - performance.now());
    timer.unref();
    // The callback comes once the last connection has ended; running jobs finish (bounded) meanwhile.
    await Promise.all([stopped, jobs.stop()]);
    clearInterval(sweep);
    clearTimeout(timer);
    mailer.close();
    await redis?.close();
    if (ownsDatabase) await database.close();
  };

  return {
    server,
    deps,
    realtime,
    ready,
    jobs,
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
