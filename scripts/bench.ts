/**
 * `npm run bench`: a performance report, not a test (never run in CI).
 *
 *   1. Throughput of GET /health: the real pipeline vs bare Express 5 vs bare
 *      node:http, and vs bare node:http sending the pipeline's response headers
 *      (scripts/bench/bare-http-headers.ts), each server in its own child
 *      process, loaded by wrk when it is installed (autocannon from this
 *      process otherwise). Target: pipeline ≥ 50 % of bare node:http, its log
 *      line counted.
 *   2. Flatness: the real app on synthetic contracts of 5, 50 and 200
 *      operations, hitting the last declared templated operation; BENCH_ROUNDS
 *      interleaved rounds, each size reported by its median round.
 *   3. Start-up: spawn → first 200 on GET /health, on PostgreSQL and on
 *      embedded PGlite, through tsx and compiled, with the tsx loader's share
 *      and a step-by-step breakdown. Target: under 1 s once migrated.
 *   4-7. On a seeded database (PostgreSQL and PGlite), the pipeline vs bare
 *      node:http running the same SQL (see scripts/bench/api.ts): GET /users/me,
 *      a login storm beside GET /health, GET /items search and deep paging,
 *      POST /orders with and without an Idempotency-Key. Targets: pipeline
 *      ≥ 85 % (users/me), 80 % (orders), 75 % (others) of bare node:http;
 *      /health p99 < 50 ms during the storm. GET /users/me on PostgreSQL also
 *      runs (c), the bare server in a process that has built the app and leaves
 *      it idle, which splits the gap into process size and the pipeline's own work.
 *   8. Realtime (scripts/bench/realtime.ts): WebSocket chat, 1,000 clients in one
 *      room and in rooms of 5, one message a second each; delivery latency,
 *      messages/s, server RSS per connection. Targets: p99 < 100 ms, < 64 kB.
 *
 * Exit code: 0 whatever the verdicts (PASS/FAIL is reported, not enforced);
 * 1 only when something could not be measured at all (e.g. the app does not start).
 *
 * Settings (environment):
 *   BENCH_SECONDS=8          measured seconds per load run
 *   BENCH_WARMUP_SECONDS=2   discarded warm-up before each run
 *   BENCH_CONNECTIONS=10, BENCH_PIPELINING=1
 *   BENCH_ROUNDS=1           repeat the throughput runs (order rotated) and report medians
 *   BENCH_BUSY_RETRIES=2     measure a run again (keeping the quietest) while other processes
 *                            used more than 15 % of a CPU during it
 *   8-9. Scale-out (WORKERS=2 vs 1, PostgreSQL) and a soak with RSS sampled every 10 s:
 *      see scripts/bench/scale.ts. 'soak' runs only together with 'scale'.
 *   BENCH_ONLY=throughput,flatness,users,login,items,orders,startup,embedded,files,realtime,jobs,scale,soak
 *                            a subset of the sections (jobs: drain rate with 1 and 2 worker
 *                            processes, and the enqueue cost added to createUser; see
 *                            scripts/bench/jobs.ts; embedded: PGlite on the main thread vs in
 *                            its worker thread, see scripts/bench/embedded.ts)
 *   BENCH_SOAK_SECONDS=600   how long the soak runs
 *   BENCH_RT_CLIENTS=1000, BENCH_RT_SECONDS=30   the realtime section's clients and sending time
 *   8. Files (scripts/bench/files.ts): one 256 MiB upload and download per round with the
 *      server's peak RSS growth (target < 64 MiB), upload throughput vs a bare busboy-to-file
 *      route (target ≥ 50 %, rounds interleaved, at least 3), 200 concurrent 100 kB uploads;
 *      per storage driver (BENCH_FILES_STORAGE=local,database).
 *
 *   BENCH_DB=postgres,pglite the databases of sections 4-7
 *   BENCH_CPU_PROF=1         also profile (a) and (b) under the same load (--cpu-prof) and
 *                            print their top functions; the profiles are kept in a temp dir.
 *                            Sections 4-7 get one more round, profiled and not counted
 *   BENCH_INSTRUCTIONS=0     skip counting (a), (b) and (c)'s instructions per GET /users/me under
 *                            valgrind's callgrind (scripts/bench/instructions.ts): a count that
 *                            moves far less between processes than the target's CPU ratio
 *   BENCH_PG_HOST=127.0.0.1, BENCH_PG_USER=postgres   for the PostgreSQL databases (sections 3-7)
 *
 * Everything listens on 127.0.0.1 only, every run is bounded, and every
 * child process, database and temp directory it creates is removed on the
 * way out (profiles excepted), including on Ctrl-C.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { isDeepStrictEqual, promisify } from 'node:util';
import { API_SECTIONS, DATABASES, apiSections, printApiSummary } from './bench/api.js';
import type { ApiResult } from './bench/api.js';
import { EMBEDDED_SECTION, embeddedSection, printEmbeddedSummary } from './bench/embedded.js';
import type { EmbeddedResult } from './bench/embedded.js';
import { jobsSection, printJobsSummary } from './bench/jobs.js';
import type { JobsResult } from './bench/jobs.js';
import { FILES_SECTION, filesSection, printFilesSummary } from './bench/files.js';
import type { FilesResult } from './bench/files.js';
import { loadGenerator } from './bench/cpu-budget.js';
import { machineBusyUs, measure } from './bench/load.js';
import type { LoadResult, LoadSettings } from './bench/load.js';
import { STARTUP_PACKAGES } from './bench/packages.js';
import { ROOT, cleanUp, onCleanup, runTracked, startServer } from './bench/processes.js';
import {
  BUSY_PERCENT,
  describe,
  errors,
  failed,
  heading,
  int,
  lpad,
  median,
  message,
  ms,
  noteOthers,
  othersSeen,
  pad,
  pct,
  printProfiles,
  quietest,
  verdict,
} from './bench/report.js';
import { scaleSections } from './bench/scale.js';
import { httpGet, startupBreakdown, timeToExit, timeToFirst200 } from './bench/startup.js';
import type { Breakdown, StartResult } from './bench/startup.js';
import { worstCasePath } from './bench/synthetic-spec.js';
import { realtimeSection } from './bench/realtime.js';

const run = promisify(execFile);

// ---------------------------------------------------------------- settings

function envInt(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer ≥ ${min}`);
  return value;
}

const load: LoadSettings = {
  connections: envInt('BENCH_CONNECTIONS', 10, 1),
  pipelining: envInt('BENCH_PIPELINING', 1, 1),
  warmupSeconds: envInt('BENCH_WARMUP_SECONDS', 2),
  seconds: envInt('BENCH_SECONDS', 8, 1),
};
const rounds = envInt('BENCH_ROUNDS', 1, 1);
const busyRetries = envInt('BENCH_BUSY_RETRIES', 2);
const sections = new Set(
  (
    process.env['BENCH_ONLY'] ??
    [
      'throughput',
      'flatness',
      ...API_SECTIONS,
      'startup',
      EMBEDDED_SECTION,
      FILES_SECTION,
      'realtime',
      'jobs',
      'scale',
      'soak',
    ].join(',')
  ).split(','),
);
const databases = new Set((process.env['BENCH_DB'] ?? DATABASES.join(',')).split(','));
const cpuProfile = process.env['BENCH_CPU_PROF'] === '1';
const instructions = process.env['BENCH_INSTRUCTIONS'] !== '0';
const pgHost = process.env['BENCH_PG_HOST'] ?? '127.0.0.1';
const pgUser = process.env['BENCH_PG_USER'] ?? 'postgres';

/** GET /health through the whole pipeline, its log line counted, against bare node:http. */
const TARGET_RATIO = 0.5;
const TARGET_STARTUP_MS = 1000;
const SIZES = [5, 50, 200] as const;
const [SMALLEST, , LARGEST] = SIZES;
/** Repeats of the warm start-up measurements; the median is reported. */
const STARTUP_REPEATS = 3;
const HEALTH_BODY = { status: 'healthy' };

// ---------------------------------------------------------------- helpers

function machine(): string {
  const [one, five] = os.loadavg();
  return `load average ${one?.toFixed(2)} (1 min), ${five?.toFixed(2)} (5 min) on ${os.cpus().length} CPUs`;
}

/** One GET before loading a server: a benchmark of a wrong answer is worthless. */
async function expectJson(url: string, expected: unknown): Promise<void> {
  const { status, body } = await httpGet(url);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = body;
  }
  if (status !== 200 || !isDeepStrictEqual(parsed, expected)) {
    throw new Error(`GET ${url}: expected 200 ${JSON.stringify(expected)}, got ${status} ${body}`);
  }
}

/** Starts a server script, checks its answer, loads it, stops it. */
async function benchServer(
  script: string,
  args: readonly string[],
  urlPath: string,
  expected: unknown,
  nodeArgs: readonly string[] = [],
): Promise<LoadResult> {
  const server = await startServer(script, args, { nodeArgs });
  try {
    const url = `http://127.0.0.1:${server.port}${urlPath}`;
    await expectJson(url, expected);
    return await measure(url, load, { serverPid: server.process.pid });
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------- 1. throughput

const TARGETS = [
  {
    key: 'pipeline',
    label: '(a) pipeline (buildApp, logs → /dev/null)',
    short: '(a) pipeline',
    script: 'scripts/bench/pipeline-app.ts',
  },
  {
    key: 'express',
    label: '(b) bare Express 5',
    short: '(b) bare Express 5',
    script: 'scripts/bench/bare-express.ts',
  },
  {
    key: 'node:http',
    label: '(c) bare node:http',
    short: '(c) bare node:http',
    script: 'scripts/bench/bare-http.ts',
  },
  {
    key: 'same-headers',
    label: '(d) bare node:http, same headers as (a)',
    short: "(d) node:http, (a)'s headers",
    script: 'scripts/bench/bare-http-headers.ts',
  },
] as const;
type Target = (typeof TARGETS)[number];
type TargetKey = Target['key'];

/** Medians per server (NaN when it could not be measured); cpu is server CPU µs per request. */
type Throughput = Record<TargetKey, { rps: number; p99: number; cpu: number }>;

async function throughput(): Promise<Throughput> {
  heading('1. Throughput: GET /health');
  console.log(
    `${await loadGenerator()}: ${load.connections} connections, pipelining ${load.pipelining}, ` +
      `${load.warmupSeconds} s warm-up (discarded) + ${load.seconds} s measured, ${rounds} round(s).`,
  );
  console.log('Each server is its own child process; so is the load generator (autocannon: this process).');
  console.log(
    '(a) keeps its per-request pino line (LOG_LEVEL=info) but writes it to /dev/null: logging is counted.',
  );
  const results: Record<TargetKey, LoadResult[]> = {
    pipeline: [],
    express: [],
    'node:http': [],
    'same-headers': [],
  };
  for (let round = 0; round < rounds; round += 1) {
    // Rotating the order spreads any drift of the machine over all three.
    const order = TARGETS.map((_, i) => TARGETS[(i + round) % TARGETS.length] ?? TARGETS[0]);
    for (const target of order) {
      try {
        const result = await quietest(
          busyRetries,
          () => benchServer(target.script, [], '/health', HEALTH_BODY),
          (r) => r.othersCpuPercent,
        );
        noteOthers(result);
        results[target.key].push(result);
        console.log(`  ${pad(target.label, 44)} ${describe(result)}`);
      } catch (error) {
        failed(target.label, error);
      }
    }
  }
  const summary = {} as Throughput;
  for (const { key } of TARGETS) {
    summary[key] = {
      rps: median(results[key].map((r) => r.requestsPerSecond)),
      p99: median(results[key].map((r) => r.p99)),
      cpu: median(results[key].map((r) => r.cpuUsPerRequest)),
    };
  }
  const ratio = summary.pipeline.rps / summary['node:http'].rps;
  const pass = Number.isFinite(ratio) ? ratio >= TARGET_RATIO : undefined;
  console.log(
    `  pipeline/node:http ${pct(ratio)}, pipeline/express ${pct(summary.pipeline.rps / summary.express.rps)}` +
      ` → ${verdict(pass)} (target ≥ ${pct(TARGET_RATIO)} of bare node:http)`,
  );
  console.log(
    `  pipeline/(d) ${pct(summary.pipeline.rps / summary['same-headers'].rps)}: the pipeline's work with ` +
      `the same response on the wire; (d)/node:http ${pct(summary['same-headers'].rps / summary['node:http'].rps)}: ` +
      'what the headers alone cost',
  );
  // Throughput ratio implied by the CPU each request costs the server: steadier on a busy machine.
  console.log(
    `  by server CPU per request: pipeline/express ${pct(summary.express.cpu / summary.pipeline.cpu)}, ` +
      `pipeline/node:http ${pct(summary['node:http'].cpu / summary.pipeline.cpu)}`,
  );
  return summary;
}

// ---------------------------------------------------------------- 2. flatness

async function flatness(): Promise<Map<number, LoadResult>> {
  heading('2. Flatness: synthetic contracts, last templated operation');
  console.log(
    `Real app (buildApp) on generated OpenAPI 3.1 documents; same load settings as above, ${rounds} round(s).`,
  );
  const runs = new Map<number, LoadResult[]>(SIZES.map((size) => [size, []]));
  for (let round = 0; round < rounds; round += 1) {
    // Rotating the order spreads any drift of the machine over every size, as in section 1.
    const order = SIZES.map((_, i) => SIZES[(i + round) % SIZES.length] ?? SMALLEST);
    for (const size of order) {
      const urlPath = worstCasePath(size);
      const lastOp = Number(/^\/r(\d+)\//.exec(urlPath)?.[1]);
      try {
        const expected = { op: lastOp, id: 42, limit: 7 };
        const result = await quietest(
          busyRetries,
          () => benchServer('scripts/bench/synthetic-app.ts', [String(size)], urlPath, expected),
          (r) => r.othersCpuPercent,
        );
        noteOthers(result);
        runs.get(size)?.push(result);
        console.log(`  ${lpad(String(size), 3)} operations  GET ${pad(urlPath, 24)} ${describe(result)}`);
      } catch (error) {
        failed(`synthetic app, ${size} operations`, error);
      }
    }
  }
  // Each size is reported by its median round (by req/s), a real measurement rather than a mix.
  const results = new Map<number, LoadResult>();
  for (const [size, list] of runs) {
    const sorted = [...list].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
    const middle = sorted[Math.floor((sorted.length - 1) / 2)];
    if (middle !== undefined) results.set(size, middle);
  }
  const ratio =
    (results.get(LARGEST)?.requestsPerSecond ?? NaN) / (results.get(SMALLEST)?.requestsPerSecond ?? NaN);
  const cpuRatio =
    (results.get(SMALLEST)?.cpuUsPerRequest ?? NaN) / (results.get(LARGEST)?.cpuUsPerRequest ?? NaN);
  console.log(
    `  ${LARGEST}-ops / ${SMALLEST}-ops = ${ratio.toFixed(3)} by req/s, ` +
      `${cpuRatio.toFixed(3)} by CPU per request (≈ 1 when flat)`,
  );
  return results;
}

// ---------------------------------------------------------------- 3. start-up

interface StartRow {
  readonly label: string;
  /** Every measurement; the median is reported. Undefined when it could not be measured. */
  readonly runs: readonly number[] | undefined;
  readonly note: string;
  /** Rows the < 1 s target applies to. */
  readonly target: boolean;
}

interface Startup {
  readonly rows: readonly StartRow[];
  readonly breakdowns: readonly (readonly [string, Breakdown])[];
}

/** The server's environment: the caller's, without anything that picks the database or the address. */
function serverEnv(extra: Record<string, string>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of ['DATABASE_URL', 'DATA_DIR', 'MIGRATE_ON_START', 'HOST', 'PORT']) delete env[name];
  return { ...env, ...extra };
}

/** How long PGlite took to open, from the app's own "embedded database opened" log line. */
function pgliteMs(result: StartResult): string {
  for (const line of result.log) {
    if (!line.includes('embedded database opened')) continue;
    try {
      const value = (JSON.parse(line) as { ms?: unknown }).ms;
      if (typeof value === 'number') return `PGlite open ${int(value)} ms`;
    } catch {
      // not a JSON log line
    }
  }
  return '';
}

async function repeat<T>(times: number, once: () => Promise<T>): Promise<T[]> {
  const runs: T[] = [];
  for (let i = 0; i < times; i += 1) runs.push(await once());
  return runs;
}

/** The server through tsx, as the brief's `node --import tsx src/server.ts`. */
const TSX_SERVER = ['--import', 'tsx', 'src/server.ts'];
/** What `npm run dev` runs (without watch): the tsx CLI, which starts a second node with the loader. */
const TSX_CLI = [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'src/server.ts'];

/**
 * Builds the server as `npm run build` and the Dockerfile do (the bundle of
 * scripts/bundle.mjs; tsc's type check is left out, it changes nothing that
 * runs) into a temp dir rather than dist/, which belongs to the project. The
 * temp dir gets links to node_modules, generated/ and package.json so the
 * built server resolves exactly as it would from the project root.
 */
async function compileApp(): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-build-'));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  for (const name of ['node_modules', 'generated', 'package.json']) {
    await symlink(path.join(ROOT, name), path.join(dir, name));
  }
  const out = path.join(dir, 'dist');
  await runTracked(process.execPath, ['scripts/bundle.mjs', '--outdir', out], 180_000);
  const server = path.join(out, 'server.js');
  if (!existsSync(server)) throw new Error('scripts/bundle.mjs produced no server.js');
  return [server];
}

async function startup(): Promise<Startup> {
  heading('3. Start-up: spawn → first 200 on GET /health (polled every 10 ms)');
  const rows: StartRow[] = [];
  const breakdowns: [string, Breakdown][] = [];
  const env = serverEnv({});

  /** Measures one row; a failure becomes a row without figures, and the section goes on. */
  const row = async (
    label: string,
    measureRow: () => Promise<{ runs: number[]; note: string }>,
    target = false,
  ): Promise<void> => {
    try {
      const { runs, note } = await measureRow();
      rows.push({ label, runs, note, target });
    } catch (error) {
      rows.push({ label, runs: undefined, note: `error: ${message(error)}`, target });
      failed(label, error);
    }
  };
  const starts = async (args: readonly string[], serverEnvironment: Record<string, string | undefined>) => {
    const results = await repeat(STARTUP_REPEATS, () => timeToFirst200(args, serverEnvironment));
    return { runs: results.map((r) => r.ms), notes: results.map(pgliteMs).filter((n) => n !== '') };
  };

  // tsx caches what it transpiles; fill that cache first so that no row pays
  // for a first-ever transpile of src/ (a deployed server has it after its first start too).
  await timeToExit(
    ['--import', 'tsx', '--input-type=module', '-e', "await import('./src/app.ts')"],
    env,
  ).catch((error: unknown) => failed('warming the tsx cache', error));

  await row('node -e 0', async () => ({
    runs: await repeat(5, () => timeToExit(['-e', '0'], env)),
    note: 'node alone',
  }));
  await row('node --import tsx -e 0', async () => ({
    runs: await repeat(5, () => timeToExit(['--import', 'tsx', '-e', '0'], env)),
    note: 'the tsx loader alone',
  }));
  const importAll = `for (const m of ${JSON.stringify(STARTUP_PACKAGES)}) await import(m);`;
  await row('node: import the app’s packages', async () => ({
    runs: await repeat(STARTUP_REPEATS, () => timeToExit(['--input-type=module', '-e', importAll], env)),
    note: 'no tsx, no app code',
  }));
  await row('tsx: import the app’s packages', async () => ({
    runs: await repeat(STARTUP_REPEATS, () =>
      timeToExit(['--import', 'tsx', '--input-type=module', '-e', importAll], env),
    ),
    note: 'the same imports through the tsx loader',
  }));

  let compiled: string[] | undefined;
  try {
    compiled = await compileApp();
  } catch (error) {
    failed('compiling the app', error);
  }

  // (i) PostgreSQL: a fresh database, migrated by the first start.
  const dbName = `bench_${process.pid}`;
  const pgArgs = ['-h', pgHost, '-U', pgUser];
  let pgEnv: Record<string, string | undefined> | undefined;
  try {
    await runTracked('createdb', [...pgArgs, dbName], 30_000);
    // Not tracked on purpose: it has to run after stopAll, on the way out.
    onCleanup(async () => {
      await run('dropdb', [...pgArgs, '--if-exists', dbName], { timeout: 30_000 });
    });
    pgEnv = serverEnv({ DATABASE_URL: `postgres://${pgUser}@${pgHost}:5432/${dbName}` });
  } catch (error) {
    rows.push({ label: '(i) PostgreSQL', runs: undefined, note: `skipped: ${message(error)}`, target: true });
  }
  if (pgEnv !== undefined) {
    const db = pgEnv;
    await row('(i) PostgreSQL, first start (tsx)', async () => ({
      runs: [(await timeToFirst200(TSX_SERVER, db)).ms],
      note: `new database bench_${process.pid}: runs the migrations`,
    }));
    await row(
      '(i) PostgreSQL, migrated (tsx)',
      async () => ({ runs: (await starts(TSX_SERVER, db)).runs, note: 'node --import tsx src/server.ts' }),
      true,
    );
    if (compiled !== undefined) {
      const args = compiled;
      await row(
        '(i) PostgreSQL, migrated (compiled)',
        async () => ({
          runs: (await starts(args, db)).runs,
          note: 'node dist/server.js (the bundle, as npm start and the Dockerfile)',
        }),
        true,
      );
    }
    try {
      breakdowns.push(['(i) PostgreSQL, migrated, tsx', await startupBreakdown(db)]);
    } catch (error) {
      failed('start-up breakdown on PostgreSQL', error);
    }
  }

  // (ii)/(iii) PGlite: a new data dir, then the same one again.
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-pglite-'));
  onCleanup(() => rm(dataDir, { recursive: true, force: true }));
  const lite = serverEnv({ DATA_DIR: dataDir });
  await row('(ii) PGlite, new data dir (tsx)', async () => {
    const result = await timeToFirst200(TSX_SERVER, lite);
    return { runs: [result.ms], note: `creates the cluster and migrates; ${pgliteMs(result)}` };
  });
  await row(
    '(iii) PGlite, existing data dir (tsx)',
    async () => {
      const { runs, notes } = await starts(TSX_SERVER, lite);
      return { runs, note: notes.join(', ') };
    },
    true,
  );
  await row('(iii) PGlite, existing, tsx CLI', async () => {
    const { runs, notes } = await starts(TSX_CLI, lite);
    return { runs, note: `tsx CLI, which relaunches node; ${notes.join(', ')}` };
  });
  if (compiled !== undefined) {
    const args = compiled;
    await row(
      '(iii) PGlite, existing (compiled)',
      async () => {
        const { runs, notes } = await starts(args, lite);
        return { runs, note: `node dist/server.js, what npm start runs; ${notes.join(', ')}` };
      },
      true,
    );
  }
  try {
    breakdowns.push(['(iii) PGlite, existing data dir, tsx', await startupBreakdown(lite)]);
  } catch (error) {
    failed('start-up breakdown on PGlite', error);
  }

  for (const r of rows) {
    const value = r.runs === undefined ? 'n/a' : ms(median(r.runs));
    const all = r.runs !== undefined && r.runs.length > 1 ? ` [${r.runs.map((n) => int(n)).join(', ')}]` : '';
    console.log(`  ${pad(r.label, 40)} ${lpad(value, 9)} ${pad(targetVerdict(r), 4)}  ${r.note}${all}`);
  }
  for (const [label, breakdown] of breakdowns) printBreakdown(label, breakdown);
  return { rows, breakdowns };
}

function targetVerdict(row: StartRow): string {
  if (!row.target) return '';
  return verdict(row.runs === undefined ? undefined : median(row.runs) < TARGET_STARTUP_MS);
}

function printBreakdown(label: string, breakdown: Breakdown): void {
  console.log(`\n  Breakdown, ${label} (scripts/bench/startup-probe.ts; ms):`);
  for (const [phase, value] of breakdown.phases) {
    console.log(`    ${lpad(value.toFixed(0), 6)}  ${phase}`);
  }
  console.log(`    ${lpad(breakdown.total.toFixed(0), 6)}  total: process start → first response`);
  for (const [note, value] of breakdown.notes ?? []) console.log(`    (${value.toFixed(0)}  ${note})`);
}

// ---------------------------------------------------------------- optional CPU profiles

/**
 * Runs a server under `--cpu-prof` with the same load and summarises only the
 * samples of the measured run (V8's profile clock is the monotonic clock this
 * process reads too, so no start-up or warm-up is counted).
 */
async function profileServer(target: Target): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-cpuprof-'));
  const result = await benchServer(target.script, [], '/health', HEALTH_BODY, [
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
  ]);
  await printProfiles(dir, [[target.label, result]]);
}

async function profiles(): Promise<void> {
  heading('CPU profiles under the same load (BENCH_CPU_PROF=1)');
  console.log('Profiling slows the servers: compare the two profiles with each other, not with section 1.');
  for (const target of TARGETS) {
    if (target.key === 'node:http' || target.key === 'same-headers') continue;
    await profileServer(target).catch((error: unknown) => failed(`profile of ${target.label}`, error));
  }
}

// ---------------------------------------------------------------- summary

function summary(
  tp: Throughput | undefined,
  flat: Map<number, LoadResult> | undefined,
  start: Startup | undefined,
  api: readonly ApiResult[],
  jobs?: JobsResult,
): void {
  heading('Summary');
  console.log(`  Node ${process.version}, ${os.cpus().length} CPUs`);
  if (othersSeen.length > 0) {
    const worst = Math.max(...othersSeen);
    console.log(
      `  other processes used up to ${worst.toFixed(0)} % of a CPU during the load runs` +
        (worst > BUSY_PERCENT ? ': req/s figures are disturbed, CPU/req less so' : ''),
    );
  }
  if (tp !== undefined) {
    console.log(
      `  ${pad('GET /health', 22)} ${lpad('req/s', 9)} ${lpad('p99', 7)} ${lpad('vs express', 11)} ` +
        `${lpad('vs node:http', 13)} ${lpad('CPU/req', 9)} ${lpad('vs express', 11)}`,
    );
    for (const target of TARGETS) {
      const { rps, p99, cpu } = tp[target.key];
      console.log(
        `  ${pad(target.short, 22)} ${lpad(int(rps), 9)} ${lpad(ms(p99), 7)} ` +
          `${lpad(pct(rps / tp.express.rps), 11)} ${lpad(pct(rps / tp['node:http'].rps), 13)} ` +
          `${lpad(`${int(cpu)} µs`, 9)} ${lpad(pct(tp.express.cpu / cpu), 11)}`,
      );
    }
    console.log(
      '  (last column: express CPU per request / this one, the throughput ratio the CPU cost implies)',
    );
    const ratio = tp.pipeline.rps / tp['node:http'].rps;
    const pass = Number.isFinite(ratio) ? ratio >= TARGET_RATIO : undefined;
    console.log(
      `  target: pipeline ≥ ${pct(TARGET_RATIO)} of bare node:http → ${verdict(pass)} (${pct(ratio)}); ` +
        machine(),
    );
  }
  if (flat !== undefined) {
    const cells = SIZES.map((size) => {
      const result = flat.get(size);
      return `${size} ops ${int(result?.requestsPerSecond ?? NaN)} (${int(result?.cpuUsPerRequest ?? NaN)} µs)`;
    });
    const ratio =
      (flat.get(LARGEST)?.requestsPerSecond ?? NaN) / (flat.get(SMALLEST)?.requestsPerSecond ?? NaN);
    console.log(
      `  flatness, req/s (CPU/req): ${cells.join(', ')}; ${LARGEST}/${SMALLEST} = ${ratio.toFixed(3)}`,
    );
  }
  printApiSummary(api);
  printJobsSummary(jobs);
  if (start !== undefined) {
    console.log(`  ${pad('start-up (median)', 40)} ${lpad('ms', 9)}`);
    for (const r of start.rows) {
      const value = r.runs === undefined ? 'n/a' : ms(median(r.runs));
      console.log(`  ${pad(r.label, 40)} ${lpad(value, 9)} ${targetVerdict(r)}`);
    }
  }
  if (errors.length > 0) {
    console.log(`  !! ${errors.length} measurement(s) failed:`);
    for (const line of errors) console.log(`     ${line}`);
  }
}

// ---------------------------------------------------------------- main

process.once('SIGINT', () => {
  console.error('\ninterrupted: stopping children and cleaning up');
  void cleanUp().finally(() => process.exit(130));
});

/** The major versions package.json's `engines.node` names (`^22.19.0 || ^24.0.0` → 22, 24). */
function supportedMajors(): number[] {
  const { engines } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    engines?: { node?: string };
  };
  return [...(engines?.node ?? '').matchAll(/\^(\d+)/g)].map((found) => Number(found[1]));
}

async function main(): Promise<void> {
  console.log(`npm run bench: ${machine()}; Node ${process.version}; ${os.cpus()[0]?.model ?? ''}`);
  const majors = supportedMajors();
  if (!majors.includes(Number(process.versions.node.split('.')[0]))) {
    console.log(
      `This Node is not one the project supports (package.json engines: ${majors.join(', ')}): ` +
        'put a supported one first on PATH for figures that mean anything.',
    );
  }
  // The load average lags (it still counts a run that just ended); a one-second sample does not.
  const before = machineBusyUs();
  await sleep(1000);
  const busyNow = (machineBusyUs() - before) / 10_000;
  console.log(
    `CPU in use before starting: ${busyNow.toFixed(0)} % of one CPU` +
      (busyNow > BUSY_PERCENT ? ': the machine is busy, figures will be noisy' : ''),
  );
  let tp: Throughput | undefined;
  let flat: Map<number, LoadResult> | undefined;
  let start: Startup | undefined;
  let api: ApiResult[] = [];
  let jobs: JobsResult | undefined;
  let files: FilesResult[] = [];
  let embedded: EmbeddedResult | undefined;
  try {
    if (sections.has('throughput')) tp = await throughput();
    if (sections.has('flatness')) flat = await flatness();
    const apiSettings = {
      load,
      rounds,
      busyRetries,
      sections,
      databases,
      pgHost,
      pgUser,
      cpuProfile,
      instructions,
    };
    api = await apiSections(apiSettings);
    if (sections.has('startup')) start = await startup();
    // The embedded section compares PGlite's two placements; the instruction count belongs to `users`.
    if (sections.has(EMBEDDED_SECTION))
      embedded = await embeddedSection({ ...apiSettings, instructions: false });
    if (sections.has('scale')) {
      const pgArgs = ['-h', pgHost, '-U', pgUser];
      await scaleSections({
        load,
        rounds: Math.max(rounds, 3),
        pgHost,
        pgUser,
        compile: compileApp,
        onCleanup,
        dropDatabase: async (name) => {
          await run('dropdb', [...pgArgs, '--if-exists', '--force', name], { timeout: 30_000 });
        },
        soakSeconds: envInt('BENCH_SOAK_SECONDS', 600, 10),
        sections,
      });
    }
    if (sections.has('jobs')) {
      jobs = await jobsSection({ databases, pgHost, pgUser, seconds: load.seconds, rounds });
    }
    if (sections.has(FILES_SECTION)) files = await filesSection({ rounds, databases, pgHost, pgUser });
    if (cpuProfile && sections.has('throughput')) await profiles();
    if (sections.has('realtime')) await realtimeSection({ databases, pgHost, pgUser });
  } finally {
    await cleanUp();
  }
  summary(tp, flat, start, [...api, ...(embedded?.api ?? [])], jobs);
  printEmbeddedSummary(embedded);
  printFilesSummary(files);
  process.exitCode = errors.length > 0 ? 1 : 0;
}

await main();
