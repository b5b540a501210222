/**
 * One load measurement (wrk when installed, autocannon otherwise; see
 * cpu-budget.ts loadGenerator): a discarded warm-up (JIT, connection set-up,
 * lazy initialisation) followed by the measured run, both with the same
 * settings. autocannon runs in this (parent) process, so it never shares the
 * server's event loop.
 *
 * Besides requests per second, it reads the server's CPU time (Linux
 * /proc/<pid>/stat) around the measured run. CPU time per request is what a
 * request costs; unlike req/s it barely moves when other processes compete
 * for the machine's two cores, so it is the steadier figure for comparisons.
 *
 * A server backed by PostgreSQL does part of each request's work in the
 * database's backend processes: their CPU is read too (`helperPids`), reported
 * apart, and not counted as "other processes" busying the machine.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { loadGenerator } from './cpu-budget.js';
import { runWrk } from './wrk.js';

export interface LoadSettings {
  readonly connections: number;
  readonly pipelining: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
}

/** What autocannon sends: a URL alone means GET. */
export interface LoadRequest {
  readonly url: string;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Replace `[<id>]` in each request (headers included) with a unique id (autocannon's idReplacement). */
  readonly uniqueIds?: boolean;
}

export interface LoadResult {
  /** Requests per second (autocannon: the mean of its per-second counts; wrk: its Requests/sec). */
  readonly requestsPerSecond: number;
  /** Milliseconds (autocannon's latency histogram has 1 ms resolution). */
  readonly p50: number;
  readonly p99: number;
  readonly total: number;
  /** Non-2xx responses, socket errors and timeouts; any of these makes the figure suspect. */
  readonly bad: number;
  /** Server CPU time (user + system, all its threads) per request, µs; NaN where /proc is missing. */
  readonly cpuUsPerRequest: number;
  /** CPU of the helper processes (the database's backends) per request, µs; NaN when there are none. */
  readonly dbCpuUsPerRequest: number;
  /**
   * CPU used during the run by everything except the server and this process
   * and its helpers (other users of the machine), in % of one CPU; NaN where /proc is missing.
   */
  readonly othersCpuPercent: number;
  /**
   * The measured run's span on the monotonic clock, in microseconds. V8's CPU
   * profiles use the same clock, so a child's profile can be cut to this window.
   */
  readonly window: { readonly fromUs: number; readonly toUs: number };
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

let ticksPerSecond: number | undefined;

/** utime + stime of a process in µs, or NaN when /proc cannot tell. */
function cpuUs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime 14, stime 15 (proc(5)).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1e6) / ticksPerSecond;
  } catch {
    return NaN;
  }
}

/** Busy time of the whole machine (all CPUs) in µs, from the first line of /proc/stat. */
export function machineBusyUs(): number {
  try {
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    const [, ...values] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
    const [user, nice, system, , , irq, softirq, steal] = values.map(Number);
    const ticks =
      (user ?? NaN) + (nice ?? NaN) + (system ?? NaN) + (irq ?? NaN) + (softirq ?? NaN) + (steal ?? NaN);
    return (ticks * 1e6) / ticksPerSecond;
  } catch {
    return NaN;
  }
}

/** This process's CPU time (autocannon's), µs. */
function selfUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** What one run of either load generator gives. */
interface RunResult {
  readonly requestsPerSecond: number;
  readonly total: number;
  readonly p50: number;
  readonly p99: number;
  readonly bad: number;
}

/** A started run: the generator's own process (wrk) when it has one, and its result. */
interface Started {
  readonly pid: number | undefined;
  readonly done: Promise<RunResult>;
}

async function start(request: LoadRequest, settings: LoadSettings, duration: number): Promise<Started> {
  if ((await loadGenerator()) === 'wrk' && settings.pipelining === 1) {
    return runWrk(request, settings.connections, duration);
  }
  const done = autocannon({
    url: request.url,
    method: request.method ?? 'GET',
    headers: { ...request.headers },
    ...(request.body === undefined ? {} : { body: request.body }),
    idReplacement: request.uniqueIds === true,
    connections: settings.connections,
    pipelining: settings.pipelining,
    duration,
  }).then((result) => ({
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    bad: result.non2xx + result.errors + result.timeouts,
  }));
  return { pid: undefined, done };
}

/** CPU µs of each process (NaN for those /proc cannot tell). */
function cpuOfEach(pids: readonly number[]): Map<number, number> {
  return new Map(pids.map((pid) => [pid, cpuUs(pid)]));
}

/** CPU µs spent between two readings, by the processes readable both times. */
function cpuSpent(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, was] of before) {
    const now = after.get(pid) ?? NaN;
    if (Number.isFinite(was) && Number.isFinite(now)) total += now - was;
  }
  return total;
}

export interface Load {
  readonly request: LoadRequest;
  readonly settings: LoadSettings;
}

export interface MeasureOptions {
  /** The server process: enables the CPU-time figures. */
  readonly serverPid?: number | undefined;
  /** Processes working for the server (its database backends), listed after the warm-up. */
  readonly helperPids?: (() => Promise<readonly number[]>) | undefined;
}

/**
 * Several autocannon instances at once against one server: warm-ups together,
 * then the measured runs together (give them the same `seconds`). The server's
 * CPU over the shared window is divided by each instance's own request count,
 * so with more than one instance each CPU figure also carries the others' load.
 */
export async function measureTogether(
  loads: readonly Load[],
  options: MeasureOptions = {},
): Promise<LoadResult[]> {
  const warmups = loads.filter(({ settings }) => settings.warmupSeconds > 0);
  await Promise.all(
    warmups.map(
      async ({ request, settings }) => (await start(request, settings, settings.warmupSeconds)).done,
    ),
  );
  const helpers = (await options.helperPids?.()) ?? [];
  const cpuBefore = cpuUs(options.serverPid);
  const helpersBefore = cpuOfEach(helpers);
  const machineBefore = machineBusyUs();
  const selfBefore = selfUs();
  const fromUs = nowUs();
  const runs = await Promise.all(
    loads.map(({ request, settings }) => start(request, settings, settings.seconds)),
  );
  // /proc keeps a process's figures only while it lives: read the generators just before they exit.
  const generatorPids = runs.flatMap((r) => (r.pid === undefined ? [] : [r.pid]));
  const seconds = Math.min(...loads.map(({ settings }) => settings.seconds));
  const generatorCpu = new Promise<number>((resolve) => {
    setTimeout(
      () =>
        resolve([...cpuOfEach(generatorPids).values()].reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0)),
      Math.max(0, seconds * 1000 - 150),
    );
  });
  const results = await Promise.all(runs.map((r) => r.done));
  const toUs = nowUs();
  const cpuAfter = cpuUs(options.serverPid);
  const helperCpu = cpuSpent(helpersBefore, cpuOfEach(helpers));
  const machineAfter = machineBusyUs();
  const selfAfter = selfUs();
  const others =
    machineAfter -
    machineBefore -
    (cpuAfter - cpuBefore) -
    helperCpu -
    (selfAfter - selfBefore) -
    (await generatorCpu);
  return results.map((result) => ({
    requestsPerSecond: result.requestsPerSecond,
    p50: result.p50,
    p99: result.p99,
    total: result.total,
    bad: result.bad,
    cpuUsPerRequest: (cpuAfter - cpuBefore) / result.total,
    dbCpuUsPerRequest: helpers.length === 0 ? NaN : helperCpu / result.total,
    // Kernel work on behalf of the two (loopback TCP, softirqs) lands here too, so a few % is normal.
    othersCpuPercent: Math.max(0, (100 * others) / (toUs - fromUs)),
    window: { fromUs, toUs },
  }));
}

/** Warm-up then measure one request (a URL alone is a GET). */
export async function measure(
  request: string | LoadRequest,
  settings: LoadSettings,
  options: MeasureOptions = {},
): Promise<LoadResult> {
  const [result] = await measureTogether(
    [{ request: typeof request === 'string' ? { url: request } : request, settings }],
    options,
  );
  if (result === undefined) throw new Error('the load generator returned no result');
  return result;
}
