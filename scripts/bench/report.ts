/**
 * Formatting and bookkeeping shared by every section of scripts/bench.ts:
 * number formats, one line per measured run, the failures to report and the
 * CPU other processes used while the runs were measured.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { summariseProfile } from './cpuprofile.js';
import type { Row } from './cpuprofile.js';
import type { LoadResult } from './load.js';
import { ROOT } from './processes.js';
import { printStages, stageCosts } from './stages.js';

/** Above this share of one CPU used by other processes during a run, its figures are flagged. */
export const BUSY_PERCENT = 15;

/** Measurements that failed ("what: why"); any of them makes the exit code 1. */
export const errors: string[] = [];
/** CPU used by other processes during each measured run, % of one CPU (see load.ts). */
export const othersSeen: number[] = [];

export const message = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
};
export const int = (n: number): string =>
  Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
export const ms = (n: number): string => `${int(n)} ms`;
export const pct = (ratio: number): string =>
  Number.isFinite(ratio) ? `${(ratio * 100).toFixed(1)} %` : 'n/a';
export const pad = (text: string, width: number): string => text.padEnd(width);
export const lpad = (text: string, width: number): string => text.padStart(width);
export const verdict = (pass: boolean | undefined): string =>
  pass === undefined ? 'n/a' : pass ? 'PASS' : 'FAIL';

export function heading(title: string): void {
  console.log(`\n== ${title} ${'='.repeat(Math.max(0, 74 - title.length))}`);
}

/** Remembers how busy the machine was during a measured run (for the summary). */
export function noteOthers(result: LoadResult): void {
  if (Number.isFinite(result.othersCpuPercent)) othersSeen.push(result.othersCpuPercent);
}

export const isBusy = (result: LoadResult): boolean => result.othersCpuPercent > BUSY_PERCENT;

/**
 * Measures with `once` and, while other processes disturbed the run (see
 * load.ts), measures again, at most `retries` more times; keeps the quietest.
 */
export async function quietest<T>(
  retries: number,
  once: () => Promise<T>,
  othersPercent: (result: T) => number,
): Promise<T> {
  let best = await once();
  for (let retry = 0; retry < retries && othersPercent(best) > BUSY_PERCENT; retry += 1) {
    console.log(`  (other processes used ${othersPercent(best).toFixed(0)} % of a CPU: measuring again)`);
    const next = await once();
    if (othersPercent(next) < othersPercent(best)) best = next;
  }
  return best;
}

/** One measured run on one line. */
export function describe(result: LoadResult): string {
  const bad = result.bad > 0 ? `  !! ${result.bad} non-2xx/errors/timeouts: figure is suspect` : '';
  const busy = isBusy(result)
    ? `  !! other processes used ${result.othersCpuPercent.toFixed(0)} % of a CPU meanwhile`
    : '';
  const db = Number.isFinite(result.dbCpuUsPerRequest)
    ? ` + ${lpad(int(result.dbCpuUsPerRequest), 4)} µs DB`
    : '';
  return (
    `${lpad(int(result.requestsPerSecond), 8)} req/s  p50 ${result.p50} ms  p99 ${result.p99} ms` +
    `  ${lpad(int(result.cpuUsPerRequest), 4)} µs CPU/req${db}  (${int(result.total)} requests)${bad}${busy}`
  );
}

/** Records a failure to measure (reported, and makes the exit code 1) and returns undefined. */
export function failed(what: string, error: unknown): undefined {
  const line = `${what}: ${message(error)}`;
  errors.push(line);
  console.log(`  !! could not measure ${line}`);
  return undefined;
}

/**
 * Prints the top functions of the one .cpuprofile a server wrote into `dir`
 * (node --cpu-prof-dir), once per measured run, counting only its samples.
 */
export async function printProfiles(
  dir: string,
  runs: readonly (readonly [string, LoadResult])[],
): Promise<void> {
  const name = (await readdir(dir)).find((entry) => entry.endsWith('.cpuprofile'));
  if (name === undefined) throw new Error(`no .cpuprofile written in ${dir}`);
  const file = path.join(dir, name);
  for (const [label, result] of runs) {
    const summary = summariseProfile(file, ROOT, result.window);
    console.log(`\n${label}: ${describe(result)} while profiled`);
    console.log(`  ${file} (kept; open it in Chrome DevTools)`);
    console.log(`  ${int(summary.samples)} samples over the measured ${ms(summary.sampledMs)}:`);
    const table = (title: string, rows: readonly Row[]): void => {
      console.log(`  ${title}`);
      for (const r of rows) console.log(`    ${lpad(r.percent.toFixed(1), 5)} %  ${r.name}`);
    };
    table('Self time by function:', summary.self);
    table('Inclusive time by function:', summary.inclusive);
    table('Self time by location:', summary.byLocation);
    console.log('  Per-stage cost (sampled on-CPU time of the main thread / requests; see stages.ts):');
    printStages(stageCosts(file, ROOT, result.total, result.window), '    ');
  }
}
