/**
 * One autocannon measurement: a discarded warm-up (JIT, connection set-up,
 * lazy initialisation) followed by the measured run, both with the same
 * settings. autocannon runs in this (parent) process, so it never shares the
 * server's event loop.
 *
 * Besides requests per second, it reads the server's CPU time (Linux
 * /proc/<pid>/stat) around the measured run. CPU time per request is what a
 * request costs; unlike req/s it barely moves when other processes compete
 * for the machine's two cores, so it is the steadier figure for comparisons.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadSettings {
  readonly connections: number;
  readonly pipelining: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
}

export interface LoadResult {
  /** Mean of autocannon's per-second request counts (its "Req/Sec Avg"). */
  readonly requestsPerSecond: number;
  /** Milliseconds; autocannon's latency histogram has 1 ms resolution. */
  readonly p50: number;
  readonly p99: number;
  readonly total: number;
  /** Non-2xx responses, socket errors and timeouts; any of these makes the figure suspect. */
  readonly bad: number;
  /** Server CPU time (user + system, all its threads) per request, µs; NaN where /proc is missing. */
  readonly cpuUsPerRequest: number;
  /**
   * CPU used during the run by everything except the server and this process
   * (other users of the machine), in % of one CPU; NaN where /proc is missing.
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

function run(url: string, settings: LoadSettings, duration: number): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections: settings.connections,
    pipelining: settings.pipelining,
    duration,
  });
}

/** Warm-up then measure GET `url`; `serverPid` enables the CPU-time figure. */
export async function measure(url: string, settings: LoadSettings, serverPid?: number): Promise<LoadResult> {
  if (settings.warmupSeconds > 0) await run(url, settings, settings.warmupSeconds);
  const cpuBefore = cpuUs(serverPid);
  const machineBefore = machineBusyUs();
  const selfBefore = selfUs();
  const fromUs = nowUs();
  const result = await run(url, settings, settings.seconds);
  const toUs = nowUs();
  const cpuAfter = cpuUs(serverPid);
  const machineAfter = machineBusyUs();
  const selfAfter = selfUs();
  const others = machineAfter - machineBefore - (cpuAfter - cpuBefore) - (selfAfter - selfBefore);
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    bad: result.non2xx + result.errors + result.timeouts,
    cpuUsPerRequest: (cpuAfter - cpuBefore) / result.requests.total,
    // Kernel work on behalf of the two (loopback TCP, softirqs) lands here too, so a few % is normal.
    othersCpuPercent: Math.max(0, (100 * others) / (toUs - fromUs)),
    window: { fromUs, toUs },
  };
}
