/**
 * The embedded database off the main thread (BENCH_ONLY=embedded): the same
 * measurements with PGlite on the main thread (PGLITE_THREAD=main, the
 * previous design) and in its worker thread (the default), in one run.
 *
 *   (a) First start on a new DATA_DIR (`node --import tsx src/server.ts`):
 *       GET /health every 100 ms, each on a new connection, from the spawn
 *       until /health/ready answers 200. Target: every answer < 50 ms.
 *   (b) Restart on the same DATA_DIR: spawn → /health/ready 200.
 *   (c) The login storm of section 5 (32 logins, /health beside them) on a
 *       seeded PGlite. Target: /health p99 < 50 ms.
 *   (d) GET /users/me (one query per request): the cost per query.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createInterface } from 'node:readline';
import { login, openPglite, users } from './api.js';
import type { ApiResult, ApiSettings, Backend } from './api.js';
import { onCleanup, spawnTracked, stop } from './processes.js';
import { failed, heading, int, lpad, median, ms, pad, verdict } from './report.js';
import { freePort, httpGet } from './startup.js';

export const EMBEDDED_SECTION = 'embedded';

const THREADS = ['main', 'worker'] as const;
type Thread = (typeof THREADS)[number];

const POLL_MS = 100;
const TARGET_HEALTH_MS = 50;
const START_TIMEOUT_MS = 180_000;

interface FirstStart {
  readonly thread: Thread;
  /** Latency of every /health poll that was answered, ms. */
  readonly polls: readonly number[];
  /** Polls that got no answer within 10 s although the server was listening. */
  readonly unanswered: number;
  readonly firstAnswerMs: number;
  readonly readyMs: number;
}

export interface EmbeddedResult {
  readonly firstStarts: readonly FirstStart[];
  readonly restarts: ReadonlyMap<Thread, number[]>;
  readonly api: readonly ApiResult[];
}

/** The server's environment: the caller's, on `dataDir`, without DATABASE_URL. */
function serverEnv(dataDir: string, thread: Thread, port: number): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of ['DATABASE_URL', 'MIGRATE_ON_START']) delete env[name];
  return {
    ...env,
    DATA_DIR: dataDir,
    PGLITE_THREAD: thread,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123456789',
  };
}

/**
 * Spawns the server on `dataDir` and polls GET /health every 100 ms (a new
 * connection each) until GET /health/ready answers 200; then stops it.
 */
async function pollStart(dataDir: string, thread: Thread): Promise<FirstStart> {
  const port = await freePort();
  const started = performance.now();
  const child = spawnTracked(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: serverEnv(dataDir, thread, port),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => output.push(line));
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => output.push(line));
  const polls: number[] = [];
  let unanswered = 0;
  let firstAnswerMs = NaN;
  let readyMs: number | undefined;
  let askingReady = false;
  const base = `http://127.0.0.1:${port}`;
  try {
    for (;;) {
      const tick = performance.now();
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`server exited (${child.exitCode ?? child.signalCode}): ${output.join('\n')}`);
      }
      if (tick - started > START_TIMEOUT_MS) throw new Error(`not ready within ${START_TIMEOUT_MS} ms`);
      let listening = true;
      const health = await httpGet(`${base}/health`, 10_000).then(
        ({ status }) => status,
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ECONNREFUSED') listening = false;
          return undefined;
        },
      );
      const took = performance.now() - tick;
      if (health !== undefined) {
        polls.push(took);
        if (Number.isNaN(firstAnswerMs)) firstAnswerMs = performance.now() - started;
      } else if (listening) {
        unanswered += 1;
      }
      if (readyMs !== undefined) return { thread, polls, unanswered, firstAnswerMs, readyMs };
      // Readiness is asked beside the polls, never between them: /health/ready may wait for the
      // database, and /health must still be asked every POLL_MS meanwhile.
      if (health === 200 && !askingReady) {
        askingReady = true;
        void httpGet(`${base}/health/ready`, 10_000)
          .then(
            ({ status }) => {
              if (status === 200) readyMs ??= performance.now() - started;
            },
            () => undefined,
          )
          .finally(() => {
            askingReady = false;
          });
      }
      await sleep(Math.max(0, POLL_MS - (performance.now() - tick)));
    }
  } finally {
    await stop(child);
  }
}

const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
};
const oneDecimal = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(1)} ms` : 'n/a');

function describeStart(start: FirstStart): string {
  const worst = Math.max(...start.polls);
  return (
    `${start.polls.length} polls answered, p50 ${oneDecimal(median(start.polls))}, ` +
    `p99 ${oneDecimal(quantile(start.polls, 0.99))}, max ${oneDecimal(worst)}, ` +
    `${start.polls.filter((p) => p >= TARGET_HEALTH_MS).length} ≥ ${TARGET_HEALTH_MS} ms, ` +
    `${start.unanswered} unanswered; first answer ${ms(start.firstAnswerMs)}, ready ${ms(start.readyMs)}`
  );
}

const passes = (start: FirstStart): boolean =>
  start.unanswered === 0 && start.polls.every((p) => p < TARGET_HEALTH_MS);

export async function embeddedSection(settings: ApiSettings): Promise<EmbeddedResult> {
  heading('Embedded database: PGlite on the main thread vs in its worker thread');
  console.log(
    `(a) first start on a new DATA_DIR: GET /health every ${POLL_MS} ms (new connection each) until ` +
      `/health/ready is 200; target: every answer < ${TARGET_HEALTH_MS} ms. (b) restart on it.`,
  );
  const firstStarts: FirstStart[] = [];
  const restarts = new Map<Thread, number[]>(THREADS.map((thread) => [thread, []]));
  for (let round = 0; round < settings.rounds; round += 1) {
    // Alternating which goes first spreads the machine's drift over both.
    const order = round % 2 === 0 ? THREADS : [...THREADS].reverse();
    for (const thread of order) {
      const dataDir = await mkdtemp(path.join(os.tmpdir(), `bench-embedded-${thread}-`));
      onCleanup(() => rm(dataDir, { recursive: true, force: true }));
      try {
        const start = await pollStart(dataDir, thread);
        firstStarts.push(start);
        console.log(`  ${pad(`PGLITE_THREAD=${thread}, first start`, 36)} ${describeStart(start)}`);
        const again = await pollStart(dataDir, thread);
        restarts.get(thread)?.push(again.readyMs);
        console.log(`  ${pad(`PGLITE_THREAD=${thread}, restart`, 36)} ${describeStart(again)}`);
      } catch (error) {
        failed(`first start, PGLITE_THREAD=${thread}`, error);
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    }
  }

  const api: ApiResult[] = [];
  let seeded: Backend | undefined;
  try {
    seeded = await openPglite();
  } catch (error) {
    failed('seeding PGlite', error);
  }
  if (seeded !== undefined) {
    for (const thread of THREADS) {
      const backend: Backend = {
        ...seeded,
        name: `PGlite, PGLITE_THREAD=${thread}`,
        // 32 logins at once on one account are over the login throttle's reservations: the storm
        // measures the event loop, not the throttle, so its limits are raised for it.
        env: {
          ...seeded.env,
          PGLITE_THREAD: thread,
          LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000',
          LOGIN_MAX_FAILURES_PER_ADDRESS: '100000',
        },
      };
      const out: ApiResult = { backend: backend.name, rows: [], targets: [], notes: [] };
      api.push(out);
      await login(settings, backend, out).catch((error: unknown) => failed(`${backend.name}, login`, error));
      await users(settings, backend, out).catch((error: unknown) => failed(`${backend.name}, users`, error));
    }
  }
  return { firstStarts, restarts, api };
}

export function printEmbeddedSummary(result: EmbeddedResult | undefined): void {
  if (result === undefined) return;
  console.log('  embedded database, first start on a new DATA_DIR (every /health poll < 50 ms):');
  for (const start of result.firstStarts) {
    console.log(
      `    ${pad(`PGLITE_THREAD=${start.thread}`, 22)} ${lpad(verdict(passes(start)), 4)}  ${describeStart(start)}`,
    );
  }
  for (const [thread, runs] of result.restarts) {
    console.log(
      `    ${pad(`PGLITE_THREAD=${thread}`, 22)} restart → ready: ${ms(median(runs))} [${runs.map(int).join(', ')}]`,
    );
  }
}
