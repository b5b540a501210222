/**
 * Scale-out and soak on PostgreSQL, with the compiled server (`node dist/server.js`
 * as `npm start` runs it):
 *
 *   scale: WORKERS=2 vs WORKERS=1 on a database-backed read (GET /items/{id}),
 *          rounds interleaved, median ratio. Target ≥ 1.5× on 2 cores; note that
 *          the load generator and PostgreSQL share those cores.
 *   soak:  one process at 50 % of the maximum measured just before, for
 *          BENCH_SOAK_SECONDS (600), RSS sampled every 10 s; the verdict compares
 *          the RSS floor (lowest sample) of the middle and last thirds: a leak
 *          raises the floor, a GC sawtooth spike does not.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import type { LoadSettings } from './load.js';
import { runTracked, spawnTracked, stop } from './processes.js';
import { freePort, httpGet } from './startup.js';
import { HOST } from './serve.js';
import { failed, heading, int, median, pct, verdict } from './report.js';
import { budgetedRun, loadGenerator } from './cpu-budget.js';
import type { BudgetedRun, CpuShares } from './cpu-budget.js';

export interface ScaleSettings {
  readonly load: LoadSettings;
  readonly rounds: number;
  readonly pgHost: string;
  readonly pgUser: string;
  /** Compiles the app; returns the node arguments that start it. */
  readonly compile: () => Promise<string[]>;
  readonly onCleanup: (cleanup: () => Promise<void>) => void;
  readonly dropDatabase: (name: string) => Promise<void>;
  readonly soakSeconds: number;
  readonly sections: ReadonlySet<string>;
}

export interface ScaleResult {
  readonly one?: number;
  readonly two?: number;
  readonly ratio?: number;
  readonly soak?: { samples: number[]; slopeMiBPerMin: number; rate: number; bad: number };
}

const TARGET_RATIO = 1.5;

interface Running {
  readonly child: ChildProcess;
  readonly url: string;
}

async function startWorkers(
  args: readonly string[],
  env: Record<string, string | undefined>,
  workers: number,
): Promise<Running> {
  const port = await freePort();
  const child = spawnTracked(process.execPath, args, {
    env: { ...env, HOST, PORT: String(port), WORKERS: String(workers), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => log.push(line));
  const url = `http://${HOST}:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}: ${log.join('\n')}`);
    if (Date.now() > deadline) throw new Error('the server did not become ready in 60 s');
    const status = await httpGet(`${url}/health/ready`, 2000).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    await sleep(100);
  }
  // With a cluster, give every worker time to listen and warm its validators.
  await sleep(workers > 1 ? 1500 : 300);
  return { child, url };
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? NaN : Number(kb) / 1024;
}

/** Least-squares slope of ys over xs. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] ?? 0) - mx) * ((ys[i] ?? 0) - my);
    den += ((xs[i] ?? 0) - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/**
 * The machine's own ceiling for two processes: how much more CPU-bound work
 * two processes get done than one in the same time (a tight loop, no I/O, no
 * memory traffic). On two real cores this is about 2×; when the two virtual
 * CPUs are hyperthreads of one physical core, or the host is oversubscribed,
 * it is less, and no server can scale past it.
 */
async function parallelCeiling(seconds = 3): Promise<number> {
  const loop = `const end = Date.now() + ${seconds * 1000}; let n = 0, x = 0;
    while (Date.now() < end) { for (let i = 0; i < 100000; i++) x = (x * 1103515245 + 12345) % 2147483648; n++; }
    console.log(n + (x < 0 ? 1 : 0));`;
  const spin = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const child = spawnTracked(process.execPath, ['-e', loop], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.once('error', reject);
      child.once('exit', () => resolve(Number(out.trim())));
    });
  const one = await spin();
  const two = (await Promise.all([spin(), spin()])).reduce((a, b) => a + b, 0);
  return two / one;
}

function describeCpu(cpu: CpuShares): string {
  const part = (us: number, percent: number): string => `${int(us)} µs (${int(percent)} %)`;
  return (
    `CPU/request: server ${part(cpu.server, cpu.percent.server)}, PostgreSQL ${part(cpu.postgres, cpu.percent.postgres)}, ` +
    `generator ${part(cpu.generator, cpu.percent.generator)}, other ${part(cpu.other, cpu.percent.other)}`
  );
}

/**
 * What the CPU figures say about the ratio. One worker is one thread: it can
 * use at most one core, so WORKERS=1 is capped at 1 s / its CPU per request.
 * Two workers are capped by the whole machine: 2 cores / everything a request
 * costs (server + PostgreSQL + load generator + the kernel work in "other").
 * The ratio the machine allows is the second cap over the first.
 */
function explainRatio(one: readonly BudgetedRun[], two: readonly BudgetedRun[]): void {
  if (one.length === 0 || two.length === 0) return;
  const perRequest = (runs: readonly BudgetedRun[], pick: (cpu: CpuShares) => number): number =>
    median(runs.map((r) => pick(r.cpu)));
  const serverOne = perRequest(one, (c) => c.server);
  const total = perRequest(two, (c) => c.server + c.postgres + c.generator + c.other);
  const capOne = 1e6 / serverOne;
  const capTwo = 2e6 / total;
  // The ceiling if a request cost two workers no more than it cost one.
  const totalOne = perRequest(one, (c) => c.server + c.postgres + c.generator + c.other);
  const rpsOne = median(one.map((r) => r.requestsPerSecond));
  console.log(
    `  one worker used ${int(median(one.map((r) => r.cpu.percent.server)))} % of a core ` +
      `(its cap: 1 core / ${int(serverOne)} µs = ${int(capOne)} req/s); with two workers a request costs the machine ` +
      `${int(total)} µs in all (cap: 2 cores / ${int(total)} µs = ${int(capTwo)} req/s). The most this machine ` +
      `allows is ${(capTwo / capOne).toFixed(2)}× (the server's own share of a request: ` +
      `${pct(perRequest(two, (c) => c.server) / total)}).`,
  );
  console.log(
    `  at one worker's costs (${int(totalOne)} µs a request in all) two cores would allow ` +
      `${int(2e6 / totalOne)} req/s, ${(2e6 / totalOne / rpsOne).toFixed(2)}× the one-worker figure; ` +
      `with two workers a request cost the server ${pct(perRequest(two, (c) => c.server) / serverOne - 1)} more ` +
      `CPU and PostgreSQL ${pct(perRequest(two, (c) => c.postgres) / perRequest(one, (c) => c.postgres) - 1)} more.`,
  );
}

export async function scaleSections(settings: ScaleSettings): Promise<ScaleResult> {
  heading('8. Scale-out: WORKERS=2 vs WORKERS=1 on PostgreSQL, GET /items/{id} (compiled server)');
  let args: string[];
  try {
    args = await settings.compile();
  } catch (error) {
    failed('compiling the app', error);
    return {};
  }
  const dbName = `bench_scale_${process.pid}`;
  const pgArgs = ['-h', settings.pgHost, '-U', settings.pgUser];
  try {
    await runTracked('createdb', [...pgArgs, dbName], 30_000);
  } catch (error) {
    failed('creating the scale database', error);
    return {};
  }
  settings.onCleanup(() => settings.dropDatabase(dbName));
  const env: Record<string, string | undefined> = {
    PATH: process.env['PATH'],
    NODE_ENV: 'production',
    JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0123456789',
    DATABASE_URL: `postgres://${settings.pgUser}@${settings.pgHost}:5432/${dbName}`,
    METRICS_ACCESS: 'off',
    // Counted as in production, but never refused: one load generator is one client.
    RATE_LIMIT_FACTOR: '1000000',
  };

  // Migrate with one start, then seed 1,000 items with plain SQL.
  const first = await startWorkers(args, env, 1);
  await stop(first.child);
  await runTracked(
    'psql',
    [
      ...pgArgs,
      '-d',
      dbName,
      '-qc',
      `insert into users (email, full_name, password_hash, role) values ('seed@example.com', 'Seed', 'x', 'user');
       insert into items (owner_id, name, description, price, tax)
       select 1, 'Item ' || g, 'Seeded for the scale benchmark', 9.99 + g, 0.1 from generate_series(1, 1000) g;`,
    ],
    60_000,
  );

  const result: { one: BudgetedRun[]; two: BudgetedRun[] } = { one: [], two: [] };
  const path = '/items/500';
  console.log(
    `load generator: ${await loadGenerator()} (${settings.load.connections} connections); CPU per request ` +
      'by process group: server (all workers), PostgreSQL, load generator, rest of the machine',
  );
  for (let round = 0; round < settings.rounds; round++) {
    const order = round % 2 === 0 ? [1, 2] : [2, 1];
    for (const workers of order) {
      const server = await startWorkers(args, env, workers);
      try {
        const measured = await budgetedRun(`${server.url}${path}`, server.child.pid ?? -1, settings.load);
        if (measured.bad > 0) console.log(`  (${measured.bad} bad answers with WORKERS=${workers})`);
        (workers === 1 ? result.one : result.two).push(measured);
        console.log(
          `  round ${round + 1}, WORKERS=${workers}: ${int(measured.requestsPerSecond)} req/s, p99 ${measured.p99} ms; ` +
            describeCpu(measured.cpu),
        );
      } finally {
        await stop(server.child);
      }
    }
  }
  const one = median(result.one.map((r) => r.requestsPerSecond));
  const two = median(result.two.map((r) => r.requestsPerSecond));
  const ratio = two / one;
  console.log(
    `WORKERS=2 / WORKERS=1: ${ratio.toFixed(2)}× (${int(two)} vs ${int(one)} req/s, median of ${settings.rounds}) ` +
      `target ≥ ${TARGET_RATIO}× ${verdict(ratio >= TARGET_RATIO)}`,
  );
  explainRatio(result.one, result.two);
  const ceiling = await parallelCeiling();
  console.log(
    `  the machine itself: two CPU-bound processes do ${ceiling.toFixed(2)}× the work of one ` +
      '(2.00× on two independent cores; less means shared or oversubscribed cores)',
  );

  if (!settings.sections.has('soak')) return { one, two, ratio };
  heading(`9. Soak: one process at 50 % of its maximum for ${settings.soakSeconds} s, RSS every 10 s`);
  const rate = Math.max(1, Math.round(one / 2));
  const server = await startWorkers(args, env, 1);
  const pid = server.child.pid ?? 0;
  const samples: number[] = [rssMiB(pid)];
  const times: number[] = [0];
  const started = Date.now();
  const sampler = setInterval(() => {
    samples.push(rssMiB(pid));
    times.push((Date.now() - started) / 60_000);
    console.log(`  ${int((Date.now() - started) / 1000)} s: RSS ${samples.at(-1)?.toFixed(1)} MiB`);
  }, 10_000);
  let bad = 0;
  try {
    const soak = await autocannon({
      url: `${server.url}${path}`,
      connections: 10,
      overallRate: rate,
      duration: settings.soakSeconds,
    });
    bad = soak.non2xx + soak.errors + soak.timeouts;
    console.log(
      `  ${soak.requests.total} requests at ${rate} req/s target, ${bad} bad, p99 ${soak.latency.p99} ms`,
    );
  } finally {
    clearInterval(sampler);
    await stop(server.child);
  }
  const from = Math.floor(samples.length / 3);
  const trend = slope(times.slice(from), samples.slice(from));
  // RSS is a GC sawtooth: compare the floors (lowest sample) of the middle and last thirds,
  // which a leak raises and a spike does not. Flat: under 2 MiB between them.
  const to = Math.floor((2 * samples.length) / 3);
  const floorMiddle = Math.min(...samples.slice(from, to));
  const floorLast = Math.min(...samples.slice(to));
  const flat = floorLast - floorMiddle < 2;
  console.log(
    `RSS: ${samples[0]?.toFixed(1)} MiB at start, ${samples.at(-1)?.toFixed(1)} at the end; floor of the middle ` +
      `third ${floorMiddle.toFixed(1)}, of the last third ${floorLast.toFixed(1)} MiB ${verdict(flat)}; ` +
      `least-squares slope after warm-up ${trend.toFixed(3)} MiB/min (sawtooth-sensitive); ` +
      `${pct(bad / Math.max(1, rate * settings.soakSeconds))} bad`,
  );
  return { one, two, ratio, soak: { samples, slopeMiBPerMin: trend, rate, bad } };
}
