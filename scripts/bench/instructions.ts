/**
 * Instructions per request under valgrind's callgrind: a count, not a time,
 * so it comes out the same (within about 1 %) run after run whatever else
 * the machine is doing, where CPU time per request moves by a third between
 * two processes of the same server (docs/benchmarks.md). It counts what the
 * server's own threads execute in user space (JavaScript, V8, Node, libuv;
 * not the kernel), so it shows what a change to the code costs, and the
 * ratio of two servers' counts is a second, steady reading of a target.
 *
 * The server starts under callgrind with instrumentation off (start-up runs
 * at about a tenth of its normal speed instead of a fiftieth), serves
 * `warmup` requests so that V8 has optimised the hot code, then counts
 * `measured` requests: `callgrind_control -i on`, the requests, `-i off` and
 * a dump. Requests come from two loops in this process over keep-alive
 * connections.
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
  readonly perRequest: number;
  readonly requests: number;
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

/** Adds up the `totals:` (or `summary:`) lines of every callgrind output file in `dir`. */
async function totalInstructions(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) {
    const text = await readFile(path.join(dir, name), 'utf8');
    const line = /^totals: (\d+)/m.exec(text) ?? /^summary: (\d+)/m.exec(text);
    total += Number(line?.[1] ?? 0);
  }
  return total;
}

/** Counts the instructions `script` executes per request of `request`; undefined without valgrind. */
export async function countInstructions(
  script: string,
  env: Env,
  request: InstructionRequest,
  { warmup = 2000, measured = 2000 }: { warmup?: number; measured?: number } = {},
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
      await send(base, request, measured);
      await run('callgrind_control', ['-i', 'off', pid]);
      await run('callgrind_control', ['-d', pid]);
    } finally {
      await child.stop();
    }
    return { perRequest: (await totalInstructions(dir)) / measured, requests: measured };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
