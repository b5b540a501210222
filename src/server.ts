/**
 * Entry point: config → app → listen; SIGTERM/SIGINT → drain → exit 0.
 *
 * With WORKERS=N (N > 1, PostgreSQL only) this process becomes a node cluster
 * primary: it forks N workers that share the port, restarts a worker that
 * crashes after it was ready, aggregates their metrics, and on SIGTERM asks
 * each to drain and waits for all of them.
 */
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { pino } from 'pino';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { collectStartupGarbage } from './heap.js';
import type { Config } from './config.js';
import { serveClusterMetrics } from './metrics.js';

const READY_MESSAGE = 'app:ready';

function readConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}

/** One server process: the whole app. */
async function runServer(config: Config): Promise<void> {
  // Listen at once; the database opens and migrates meanwhile (liveness answers,
  // readiness is 503 and queries wait until then).
  const app = await buildApp(config, { waitUntilReady: false });
  const address = await app.listen();
  app.deps.log.info({ address: `http://${address.address}:${address.port}` }, 'listening');
  let stopping = false;
  app.ready.then(
    () => {
      // Start-up's garbage goes before traffic does (src/heap.ts says why).
      const ms = collectStartupGarbage();
      if (ms !== undefined) app.deps.log.info({ ms: Math.round(ms) }, 'start-up garbage collected');
      process.send?.({ type: READY_MESSAGE });
    },
    (error: unknown) => {
      // A stop during start-up closes the database under the migrations: that is the stop, not a failure.
      if (stopping) {
        app.deps.log.info(
          { reason: error instanceof Error ? error.message : String(error) },
          'stopped before the database was ready',
        );
        return;
      }
      app.deps.log.fatal({ err: error }, 'the database could not be opened or migrated');
      void app.close().finally(() => process.exit(1));
    },
  );

  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    app.deps.log.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.deps.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // A cluster worker whose primary went away (killed with -9) must not linger as an orphan.
  if (cluster.isWorker) process.on('disconnect', () => stop('primary gone'));
}

/** The cluster primary: forks, watches and stops the workers; serves no requests itself. */
function runPrimary(config: Config): void {
  const log = pino({
    level: config.logLevel,
    base: { pid: process.pid, role: 'primary' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
  serveClusterMetrics();
  const ready = new WeakSet<Worker>();
  let stopping = false;
  let exitCode = 0;

  const fork = (): void => {
    const worker = cluster.fork();
    worker.on('message', (message: unknown) => {
      if ((message as { type?: unknown } | null)?.type === READY_MESSAGE) ready.add(worker);
    });
  };

  cluster.on('exit', (worker, code, signal) => {
    const livingWorkers = Object.keys(cluster.workers ?? {}).length;
    if (stopping) {
      if (code !== 0) exitCode = 1;
      if (livingWorkers === 0) {
        log.info({ exitCode }, 'all workers stopped');
        process.exit(exitCode);
      }
      return;
    }
    if (!ready.has(worker)) {
      // It never became ready: configuration or database trouble that a restart will not fix.
      log.fatal({ workerPid: worker.process.pid, code, signal }, 'a worker failed to start; stopping');
      exitCode = 1;
      stop('worker failed');
      return;
    }
    log.error({ workerPid: worker.process.pid, code, signal }, 'worker died; starting another');
    setTimeout(fork, 1000).unref();
  });

  const stop = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'stopping the workers');
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit(exitCode);
    for (const worker of workers) worker?.process.kill('SIGTERM');
    // Each worker drains within SHUTDOWN_GRACE_MS + SHUTDOWN_TIMEOUT_MS; do not wait much longer than that.
    setTimeout(
      () => {
        log.warn('workers did not stop in time; killing them');
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
        process.exit(1);
      },
      config.shutdownGraceMs + config.shutdownTimeoutMs + 5000,
    ).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  log.info({ workers: config.workers }, 'starting workers');
  for (let i = 0; i < config.workers; i++) fork();
}

const config = readConfig();
if (config.workers > 1 && cluster.isPrimary) {
  runPrimary(config);
} else {
  runServer(config).catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
