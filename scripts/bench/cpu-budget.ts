/**
 * Where the machine's CPU goes during a load run, by process group: the server
 * (a process and all its descendants, so a cluster's workers count), the
 * PostgreSQL processes, the load generator, and everything else. On a 2-core
 * machine where all of them share the cores, this is what explains a
 * throughput figure: a ratio such as WORKERS=2 / WORKERS=1 can only be read
 * next to how much of the two cores the server had.
 *
 * Also the load generator itself: wrk (C, one thread, from Debian's package)
 * when it is installed, because it costs a fraction of autocannon's CPU per
 * request and so leaves more of the cores to the server; autocannon otherwise.
 * BENCH_LOAD_GENERATOR=autocannon|wrk forces one.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { machineBusyUs } from './load.js';
import { runWrk } from './wrk.js';

const run = promisify(execFile);

let ticksPerSecond: number | undefined;

interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  /** utime + stime, µs. */
  readonly cpuUs: number;
}

/** Every process /proc can read, with its parent, name and CPU time. */
function processes(): ProcStat[] {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const list: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      // After "(comm) ": state, ppid, ... utime is field 14 and stime 15 (proc(5)).
      const fields = stat.slice(close + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      list.push({ pid: Number(entry), ppid: Number(fields[1]), comm, cpuUs: (ticks * 1e6) / ticksPerSecond });
    } catch {
      // The process ended between readdir and read.
    }
  }
  return list;
}

/** The pids of `root` and all its descendants. */
function tree(list: readonly ProcStat[], root: number): Set<number> {
  const pids = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of list) {
      if (!pids.has(p.pid) && pids.has(p.ppid)) {
        pids.add(p.pid);
        grew = true;
      }
    }
  }
  return pids;
}

export interface CpuShares {
  /** CPU µs per request. */
  readonly server: number;
  readonly postgres: number;
  readonly generator: number;
  /** Everything else busy on the machine (other users, kernel work such as loopback TCP). */
  readonly other: number;
  /** Each group's CPU over the run, in % of one core. */
  readonly percent: { server: number; postgres: number; generator: number; other: number };
}

interface Snapshot {
  readonly at: number;
  readonly busy: number;
  /** CPU µs by pid, per group: a process that starts or ends between two snapshots is left out. */
  readonly server: ReadonlyMap<number, number>;
  readonly postgres: ReadonlyMap<number, number>;
  readonly generator: number;
}

function snapshot(serverPid: number, generatorPid: number | undefined): Snapshot {
  const list = processes();
  const serverPids = tree(list, serverPid);
  const server = new Map<number, number>();
  const postgres = new Map<number, number>();
  let generator = generatorPid === undefined ? selfUs() : 0;
  for (const p of list) {
    if (serverPids.has(p.pid)) server.set(p.pid, p.cpuUs);
    else if (p.comm === 'postgres') postgres.set(p.pid, p.cpuUs);
    else if (p.pid === generatorPid) generator += p.cpuUs;
  }
  return { at: Number(process.hrtime.bigint() / 1000n), busy: machineBusyUs(), server, postgres, generator };
}

/** CPU µs spent between two snapshots by the processes present in both. */
function spent(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let total = 0;
  for (const [pid, was] of before) {
    const now = after.get(pid);
    if (now !== undefined) total += now - was;
  }
  return total;
}

function selfUs(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function shares(before: Snapshot, after: Snapshot, requests: number): CpuShares {
  const server = spent(before.server, after.server);
  const postgres = spent(before.postgres, after.postgres);
  const generator = after.generator - before.generator;
  const other = Math.max(0, after.busy - before.busy - server - postgres - generator);
  const span = after.at - before.at;
  const percent = (us: number): number => (100 * us) / span;
  return {
    server: server / requests,
    postgres: postgres / requests,
    generator: generator / requests,
    other: other / requests,
    percent: {
      server: percent(server),
      postgres: percent(postgres),
      generator: percent(generator),
      other: percent(other),
    },
  };
}

export interface BudgetedRun {
  readonly generator: 'wrk' | 'autocannon';
  readonly requestsPerSecond: number;
  readonly p99: number;
  readonly requests: number;
  readonly bad: number;
  readonly cpu: CpuShares;
}

export interface BudgetSettings {
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
}

let wrkPresent: boolean | undefined;

/** The load generator this run uses: wrk when installed (or forced), else autocannon. */
export async function loadGenerator(): Promise<'wrk' | 'autocannon'> {
  const forced = process.env['BENCH_LOAD_GENERATOR'];
  if (forced === 'autocannon' || forced === 'wrk') return forced;
  if (wrkPresent === undefined) {
    wrkPresent = await run('wrk', ['--version']).then(
      () => true,
      // wrk --version prints its banner and exits 1; a missing binary rejects with ENOENT.
      (error: NodeJS.ErrnoException) => error.code !== 'ENOENT',
    );
  }
  return wrkPresent ? 'wrk' : 'autocannon';
}

/**
 * A warm-up, then a measured run of GET `url`, with the CPU of the server
 * tree, PostgreSQL, the load generator and the rest of the machine over the
 * measured run.
 */
export async function budgetedRun(
  url: string,
  serverPid: number,
  settings: BudgetSettings,
): Promise<BudgetedRun> {
  const generator = await loadGenerator();
  if (generator === 'wrk') {
    if (settings.warmupSeconds > 0)
      await (
        await runWrk({ url }, settings.connections, settings.warmupSeconds)
      ).done;
    const measured = await runWrk({ url }, settings.connections, settings.seconds);
    const before = snapshot(serverPid, measured.pid);
    // /proc keeps a process's figures only while it lives: read wrk just before it exits.
    const lastRead = new Promise<Snapshot>((resolve) => {
      setTimeout(() => resolve(snapshot(serverPid, measured.pid)), settings.seconds * 1000 - 150);
    });
    const { requestsPerSecond, total, p99, bad } = await measured.done;
    const after = await lastRead;
    const requestsInWindow = requestsPerSecond * ((after.at - before.at) / 1e6);
    return {
      generator,
      requestsPerSecond,
      requests: total,
      p99,
      bad,
      cpu: shares(before, after, requestsInWindow),
    };
  }
  const cannon = (duration: number): Promise<autocannon.Result> =>
    autocannon({ url, connections: settings.connections, duration });
  if (settings.warmupSeconds > 0) await cannon(settings.warmupSeconds);
  const before = snapshot(serverPid, undefined);
  const result = await cannon(settings.seconds);
  const after = snapshot(serverPid, undefined);
  return {
    generator,
    requestsPerSecond: result.requests.average,
    p99: result.latency.p99,
    requests: result.requests.total,
    bad: result.non2xx + result.errors + result.timeouts,
    cpu: shares(before, after, result.requests.total),
  };
}
