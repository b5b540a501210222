/**
 * Section "jobs" of `npm run bench` (BENCH_ONLY=jobs):
 *
 *   (a) drain rate: N `activity` jobs (the real handler: one insert each)
 *       drained by 1 and then by 2 worker processes on one PostgreSQL
 *       database; jobs/s and the 2-process / 1-process ratio. PostgreSQL only:
 *       the embedded database belongs to one process.
 *   (b) enqueue cost added to createUser: the same transaction as createUser's
 *       (insert the account) with and without its two enqueues (welcome email
 *       and user_created activity), interleaved transaction by transaction in
 *       the same run, on each database; plus one argon2 hash for scale, since createUser hashes the
 *       password first and that dominates its latency.
 */
import { createInterface } from 'node:readline';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { createPasswordHasher } from '../../src/auth/passwords.js';
import { loadConfig } from '../../src/config.js';
import { createDatabase, MEMORY_DATA_DIR } from '../../src/db/database.js';
import type { DatabaseHandle } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { countJobs } from '../../src/db/repos/jobs.repo.js';
import { insertUser } from '../../src/db/repos/users.repo.js';
import { activityJob, enqueueAll, welcomeEmailJob } from '../../src/jobs/index.js';
import { ROOT, exited, onCleanup, runTracked, spawnTracked, stop } from './processes.js';
import { failed, heading, int, median, ms, pad, pct } from './report.js';

const run = promisify(execFile);

export interface JobsSettings {
  readonly databases: ReadonlySet<string>;
  readonly pgHost: string;
  readonly pgUser: string;
  readonly seconds: number;
  readonly rounds: number;
}

export interface JobsResult {
  drain?: { jobs: number; one: number; two: number };
  enqueue: { database: string; without: number; withJobs: number; addedMs: number }[];
  hashMs?: number;
}

const DRAIN_JOBS = 5000;
const ENQUEUE_CONCURRENCY = 8;

/** Starts a worker process and waits for its {"ready":true}. */
async function startWorker(databaseUrl: string): Promise<ReturnType<typeof spawnTracked>> {
  const child = spawnTracked(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'scripts/bench/jobs-worker.ts')],
    { env: { ...process.env, BENCH_DATABASE_URL: databaseUrl }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker not ready within 60 s')), 60_000);
    void exited(child).then((code) => reject(new Error(`worker exited ${code}`)));
    lines.on('line', (line) => {
      if (line.includes('"ready":true')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return child;
}

/** jobs/s for `processes` worker processes draining DRAIN_JOBS activity jobs. */
async function drainRate(
  database: DatabaseHandle,
  url: string,
  processes: number,
  userId: number,
): Promise<number> {
  const { db } = database;
  await sql`truncate jobs, activity`.execute(db);
  const workers = [];
  for (let i = 0; i < processes; i += 1) workers.push(await startWorker(url));
  try {
    const payload = JSON.stringify({ user_id: userId, kind: 'login', details: {} });
    const started = performance.now();
    await sql`insert into jobs (kind, payload) select 'activity', ${payload}::jsonb from generate_series(1, ${DRAIN_JOBS})`.execute(
      db,
    );
    for (;;) {
      const counts = await countJobs(db);
      if (counts.queued + counts.running === 0) {
        if (counts.succeeded !== DRAIN_JOBS) throw new Error(`drained with ${JSON.stringify(counts)}`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return DRAIN_JOBS / ((performance.now() - started) / 1000);
  } finally {
    await Promise.all(workers.map((worker) => stop(worker)));
  }
}

/** One createUser transaction: insert the account, and with `withJobs` its two enqueues. */
async function createUserTx(database: DatabaseHandle, email: string, withJobs: boolean): Promise<void> {
  await database.db.transaction().execute(async (trx) => {
    const user = await insertUser(trx, {
      email,
      full_name: 'Bench',
      age: 30,
      password_hash: 'x',
      role: 'user',
    });
    if (withJobs) {
      await enqueueAll(trx, [welcomeEmailJob(user.id), activityJob(user.id, 'user_created', {})]);
    }
  });
}

/**
 * createUser's transaction with and without its enqueues, interleaved
 * transaction by transaction (each lane alternates), so both see the same
 * machine: on a shared 2-core VM, runs of a few seconds each differ by 2×.
 * Mean latency of each kind; their ratio is the throughput ratio.
 */
async function enqueueCost(
  name: string,
  database: DatabaseHandle,
  settings: JobsSettings,
): Promise<JobsResult['enqueue'][number]> {
  // PGlite has one connection: more lanes would only queue.
  const lanes = database.kind === 'pglite' ? 1 : ENQUEUE_CONCURRENCY;
  const spent = [0, 0];
  const count = [0, 0];
  const deadline = performance.now() + settings.seconds * settings.rounds * 1000;
  let serial = 0;
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = 0; performance.now() < deadline; i += 1) {
        const mode = (i + lane) % 2; // 1: with the enqueues
        serial += 1;
        const started = performance.now();
        await createUserTx(database, `${name}-${serial}@bench.example`, mode === 1);
        spent[mode] = (spent[mode] ?? 0) + performance.now() - started;
        count[mode] = (count[mode] ?? 0) + 1;
      }
    }),
  );
  await sql`truncate users cascade`.execute(database.db);
  await sql`truncate jobs`.execute(database.db);
  const meanWithout = (spent[0] ?? 0) / (count[0] ?? 1);
  const meanWith = (spent[1] ?? 0) / (count[1] ?? 1);
  const row = {
    database: name,
    without: (lanes * 1000) / meanWithout,
    withJobs: (lanes * 1000) / meanWith,
    addedMs: meanWith - meanWithout,
  };
  console.log(
    `  ${pad(name, 11)} ${int((count[0] ?? 0) + (count[1] ?? 0))} transactions, ${lanes} at a time: ` +
      `${meanWithout.toFixed(2)} ms without, ${meanWith.toFixed(2)} ms with the enqueues ` +
      `(throughput ${pct(row.withJobs / row.without)} of without, +${row.addedMs.toFixed(2)} ms each)`,
  );
  return row;
}

async function prepare(database: DatabaseHandle): Promise<number> {
  await migrateToLatest(database.db);
  const user = await insertUser(database.db, {
    email: 'drain@bench.example',
    full_name: 'Drain',
    age: 30,
    password_hash: 'x',
    role: 'user',
  });
  return user.id;
}

export async function jobsSection(settings: JobsSettings): Promise<JobsResult> {
  heading('Jobs: drain rate with 1 and 2 worker processes, and the enqueue cost added to createUser');
  const result: JobsResult = { enqueue: [] };
  if (settings.databases.has('postgres')) {
    const name = `bench_${process.pid}_jobs`;
    const args = ['-h', settings.pgHost, '-U', settings.pgUser];
    try {
      await runTracked('createdb', [...args, name], 30_000);
      onCleanup(async () => {
        await run('dropdb', [...args, '--if-exists', '--force', name], { timeout: 30_000 });
      });
      const url = `postgres://${settings.pgUser}@${settings.pgHost}:5432/${name}`;
      const database = await createDatabase({
        databaseUrl: url,
        dataDir: '',
        dbPoolMax: ENQUEUE_CONCURRENCY + 2,
      });
      try {
        const userId = await prepare(database);
        console.log(
          `  PostgreSQL: ${DRAIN_JOBS} activity jobs, workers with JOBS_CONCURRENCY=8, polling every 50 ms`,
        );
        const one: number[] = [];
        const two: number[] = [];
        for (let round = 0; round < settings.rounds; round += 1) {
          one.push(await drainRate(database, url, 1, userId));
          two.push(await drainRate(database, url, 2, userId));
          console.log(
            `  round ${round + 1}: 1 process ${int(one.at(-1) ?? NaN)} jobs/s, 2 processes ${int(two.at(-1) ?? NaN)} jobs/s`,
          );
        }
        result.drain = { jobs: DRAIN_JOBS, one: median(one), two: median(two) };
        result.enqueue.push(await enqueueCost('PostgreSQL', database, settings));
      } finally {
        await database.close();
      }
    } catch (error) {
      failed('jobs on PostgreSQL', error);
    }
  }
  if (settings.databases.has('pglite')) {
    try {
      const database = await createDatabase({
        databaseUrl: undefined,
        dataDir: MEMORY_DATA_DIR,
        dbPoolMax: 1,
      });
      try {
        await prepare(database);
        result.enqueue.push(await enqueueCost('PGlite', database, settings));
      } finally {
        await database.close();
      }
    } catch (error) {
      failed('jobs on PGlite', error);
    }
  }
  const hasher = createPasswordHasher(loadConfig({}).argon2);
  const hashes: number[] = [];
  for (let i = 0; i < 5; i += 1) {
    const started = performance.now();
    await hasher.hash('Secret123');
    hashes.push(performance.now() - started);
  }
  result.hashMs = median(hashes);
  console.log(`  for scale: one argon2id hash (createUser's first step) takes ${ms(result.hashMs)}`);
  return result;
}

export function printJobsSummary(result: JobsResult | undefined): void {
  if (result === undefined) return;
  if (result.drain !== undefined) {
    const { one, two } = result.drain;
    console.log(
      `  jobs drained (PostgreSQL): 1 process ${int(one)} jobs/s, 2 processes ${int(two)} jobs/s (×${(two / one).toFixed(2)})`,
    );
  }
  for (const row of result.enqueue) {
    console.log(
      `  enqueue cost, ${pad(row.database, 10)} createUser tx ${int(row.without)} → ${int(row.withJobs)} tx/s ` +
        `(${pct(row.withJobs / row.without)}), +${row.addedMs.toFixed(2)} ms vs a ${ms(result.hashMs ?? NaN)} hash`,
    );
  }
}
