/**
 * Section "instructions": the CPU cost of one GET /health counted in machine
 * instructions (valgrind's callgrind), for the pipeline and bare Express.
 *
 * Requests per second on this 2-core machine move by tens of percent with
 * whatever else runs; an instruction count does not: callgrind counts the
 * instructions the server process executes (user space only, so the kernel's
 * share of each request, the same for both servers, is left out), and gives
 * the same count for the same work however busy the machine is. This is the
 * figure to compare between commits when hunting a regression of the hot path.
 *
 * Each server runs under callgrind (about 50 times slower), answers a warm-up
 * that lets V8 optimise the hot functions, then one discarded and SEGMENTS runs of REQUESTS
 * sequential keep-alive requests, each counted on its own (callgrind_control
 * zeroes the counters, then dumps them after the segment). The median segment
 * is reported, so one segment that caught a GC or a late optimisation does
 * not move the figure.
 *
 *   BENCH_IR_REQUESTS=2000   requests per segment
 *   BENCH_IR_WARMUP=8000     warm-up requests (not counted)
 *   BENCH_IR_SEGMENTS=5
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startServer } from './processes.js';
import { failed, heading, int, median, pad, pct, verdict } from './report.js';

const run = promisify(execFile);

const TARGET_RATIO = 0.7;

function envInt(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** `n` sequential GETs on one keep-alive connection; rejects on anything but 200. */
async function sequentialGets(port: number, urlPath: string, n: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < n; i += 1) {
      await new Promise<void>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path: urlPath, agent }, (res) => {
            res.resume();
            res.once('end', () => {
              if (res.statusCode === 200) resolve();
              else reject(new Error(`GET ${urlPath} answered ${res.statusCode}`));
            });
          })
          .once('error', reject);
      });
    }
  } finally {
    agent.destroy();
  }
}

/** The instruction total of a callgrind dump file ("totals: N", or "summary: N"). */
async function dumpTotal(file: string): Promise<number> {
  const text = await readFile(file, 'utf8');
  const match = /^totals:\s+(\d+)/m.exec(text) ?? /^summary:\s+(\d+)/m.exec(text);
  if (match?.[1] === undefined) throw new Error(`no instruction total in ${file}`);
  return Number(match[1]);
}

interface Counted {
  /** Instructions per request of each segment. */
  readonly segments: readonly number[];
  readonly perRequest: number;
}

async function countServer(script: string, settings: Settings): Promise<Counted> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-callgrind-'));
  try {
    const server = await startServer(script, [], {
      launcher: ['valgrind', '--tool=callgrind', `--callgrind-out-file=${dir}/cg.%p`, '--quiet'],
      timeoutMs: 600_000,
    });
    const pid = server.process.pid;
    if (pid === undefined) throw new Error(`${script}: no pid`);
    try {
      await sequentialGets(server.port, '/health', settings.warmup);
      const segments: number[] = [];
      // One more segment than reported: the first after warm-up always counts high
      // (seen in every run: 10-30 % over the rest), so it is measured and dropped.
      for (let i = 0; i <= settings.segments; i += 1) {
        await run('callgrind_control', ['--zero', String(pid)]);
        await sequentialGets(server.port, '/health', settings.requests);
        await run('callgrind_control', ['--dump', String(pid)]);
        // Dumps are numbered in order: cg.<pid>.1, .2, ...
        const file = path.join(dir, `cg.${pid}.${i + 1}`);
        const perRequest = (await dumpTotal(file)) / settings.requests;
        if (i > 0) segments.push(perRequest);
      }
      return { segments, perRequest: median(segments) };
    } finally {
      await server.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Settings {
  readonly requests: number;
  readonly warmup: number;
  readonly segments: number;
}

export interface InstructionsResult {
  readonly pipeline: number;
  readonly express: number;
}

export async function instructionsSection(): Promise<InstructionsResult | undefined> {
  heading('Instructions per request: GET /health under callgrind');
  const settings: Settings = {
    requests: envInt('BENCH_IR_REQUESTS', 2000),
    warmup: envInt('BENCH_IR_WARMUP', 8000),
    segments: envInt('BENCH_IR_SEGMENTS', 5),
  };
  try {
    await run('valgrind', ['--version']);
  } catch {
    return failed('instructions', new Error('valgrind is not installed (Debian package valgrind)'));
  }
  console.log(
    `valgrind callgrind: ${int(settings.warmup)} warm-up requests, then ${settings.segments} segments of ` +
      `${int(settings.requests)} sequential keep-alive requests; user-space instructions, the same on a busy machine.`,
  );
  const targets = [
    ['pipeline', '(a) pipeline (buildApp, logs → /dev/null)', 'scripts/bench/pipeline-app.ts'],
    ['express', '(b) bare Express 5', 'scripts/bench/bare-express.ts'],
  ] as const;
  const result: Partial<Record<'pipeline' | 'express', number>> = {};
  for (const [key, label, script] of targets) {
    try {
      const counted = await countServer(script, settings);
      result[key] = counted.perRequest;
      const spread = counted.segments.map((s) => int(s / 1000)).join(', ');
      console.log(
        `  ${pad(label, 44)} ${int(counted.perRequest / 1000)} k instructions/request (segments ${spread} k)`,
      );
    } catch (error) {
      failed(label, error);
    }
  }
  if (result.pipeline === undefined || result.express === undefined) return undefined;
  const ratio = result.express / result.pipeline;
  console.log(
    `  pipeline/express by instructions: ${pct(ratio)} → ${verdict(ratio >= TARGET_RATIO)} ` +
      `(target ≥ ${pct(TARGET_RATIO)}; the throughput this cost allows, kernel time left out)`,
  );
  return { pipeline: result.pipeline, express: result.express };
}
