/**
 * Instructions per request under valgrind's callgrind: a count, not a time,
 * so it does not depend on what else the machine is doing. It still moves by
 * up to about a tenth between runs of one server (garbage collection, below),
 * where CPU time per request moves by a third between two processes of the
 * same server (docs/benchmarks.md). It counts what the server's own threads
 * execute in user space (JavaScript, V8, Node, libuv; not the kernel), so it
 * shows what a change to the code costs, and the ratio of two servers' counts
 * is a second, steadier reading of a target.
 *
 * The server starts under callgrind with instrumentation off (start-up runs
 * at about a tenth of its normal speed instead of a fiftieth), serves
 * `warmup` requests so that V8 has optimised the hot code, then counts
 * `slices` runs of `perSlice` requests each (`callgrind_control -i on`, then
 * a dump after each run) and reports the lowest run. Garbage collection of
 * the old generation is started partly by timers, and under valgrind a
 * request takes fifty times as long, so it runs far more often per request
 * than at full speed, and in some runs more than in others (a run with a
 * whole collection in it counts twice as many); the lowest run is the one
 * least disturbed, and every run is printed. Requests come from two loops
 * in this process over keep-alive connections.
 *
 * Needs Debian's valgrind; without it the count is skipped with a note.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Env } from './processes.js';
import { startServer } from './processes.js';

const run = promisify(execFile);

export interface InstructionRequest {
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly status: number;
}

export interface InstructionCount {
  /** The lowest slice's instructions per request. */
  readonly perRequest: number;
  /** Every slice's, in the order they ran. */
  readonly slices: readonly number[];
  readonly requestsPerSlice: number;
}

let available: Promise<boolean> | undefined;

/** Whether valgrind and callgrind_control can be run here. */
export function callgrindAvailable(): Promise<boolean> {
  available ??= Promise.all([run('valgrind', ['--version']), run('callgrind_control', ['--help'])]).then(
    () => true,
    () => false,
  );
  return available;
}

/** Sends `count` requests, two at a time, and checks each one's status. */
async function send(base: string, request: InstructionRequest, count: number): Promise<void> {
  let left = count;
  const loop = async (): Promise<void> => {
    while (left > 0) {
      left -= 1;
      const res = await fetch(`${base}${request.path}`, { headers: request.headers ?? {} });
      await res.arrayBuffer();
      if (res.status !== request.status) {
        throw new Error(`${request.path}: expected ${request.status}, got ${res.status}`);
      }
    }
  };
  await Promise.all([loop(), loop()]);
}

/** The totals of the numbered dumps (`callgrind.<pid>.<n>`) in `dir`, in dump order. */
async function dumpTotals(dir: string): Promise<number[]> {
  const dumps: [number, number][] = [];
  for (const name of await readdir(dir)) {
    const part = /\.(\d+)$/.exec(name.replace(/^callgrind\.\d+/, ''));
    if (part === null) continue; // the file written at exit, after instrumentation went off
    const text = await readFile(path.join(dir, name), 'utf8');
    const line = /^totals: (\d+)/m.exec(text) ?? /^summary: (\d+)/m.exec(text);
    dumps.push([Number(part[1]), Number(line?.[1] ?? NaN)]);
  }
  return dumps.sort((a, b) => a[0] - b[0]).map(([, total]) => total);
}

/** Counts the instructions `script` executes per request of `request`; undefined without valgrind. */
export async function countInstructions(
  script: string,
  env: Env,
  request: InstructionRequest,
  {
    warmup = 2000,
    perSlice = 2000,
    slices = 5,
  }: { warmup?: number; perSlice?: number; slices?: number } = {},
): Promise<InstructionCount | undefined> {
  if (!(await callgrindAvailable())) return undefined;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-callgrind-'));
  try {
    const child = await startServer(script, [], {
      env,
      timeoutMs: 300_000,
      launcher: [
        'valgrind',
        '--quiet',
        '--tool=callgrind',
        '--instr-atstart=no',
        // V8 writes and rewrites machine code at run time.
        '--smc-check=all-non-file',
        `--callgrind-out-file=${path.join(dir, 'callgrind.%p')}`,
      ],
    });
    const pid = String(child.process.pid);
    try {
      const base = `http://127.0.0.1:${child.port}`;
      await send(base, request, warmup);
      await run('callgrind_control', ['-i', 'on', pid]);
      for (let slice = 0; slice < slices; slice += 1) {
        await send(base, request, perSlice);
        // Writes what was counted since the previous dump and starts again from zero.
        await run('callgrind_control', ['-d', pid]);
      }
      await run('callgrind_control', ['-i', 'off', pid]);
    } finally {
      await child.stop();
    }
    const perSliceCounts = (await dumpTotals(dir)).map((total) => total / perSlice);
    if (perSliceCounts.length !== slices || perSliceCounts.some((n) => !Number.isFinite(n))) {
      throw new Error(`callgrind wrote ${perSliceCounts.length} readable dumps, not ${slices}`);
    }
    return { perRequest: Math.min(...perSliceCounts), slices: perSliceCounts, requestsPerSlice: perSlice };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
