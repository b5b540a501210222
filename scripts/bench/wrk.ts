/**
 * One wrk run (C, one thread, Debian's package) for a LoadRequest: a URL, or
 * a method, headers and body given to wrk through a generated Lua script,
 * with `[<id>]` in the headers replaced by a fresh id per request (as
 * autocannon's idReplacement does). wrk costs a fraction of autocannon's CPU
 * per request, so on a 2-core machine it leaves more of the cores to the server.
 */
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LoadRequest } from './load.js';
import { spawnTracked } from './processes.js';

export interface WrkRun {
  readonly requestsPerSecond: number;
  readonly total: number;
  readonly p50: number;
  readonly p99: number;
  readonly bad: number;
}

/** Milliseconds from a wrk duration such as "812.00us", "5.12ms" or "1.02s". */
function wrkMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (match === null) return NaN;
  const value = Number(match[1]);
  const unit = match[2];
  return unit === 'us' ? value / 1000 : unit === 'ms' ? value : unit === 's' ? value * 1000 : value * 60_000;
}

function parse(output: string): WrkRun {
  const requestsPerSecond = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1]);
  const total = Number(/(\d+) requests in/.exec(output)?.[1]);
  const p50 = wrkMs(/^\s+50%\s+(\S+)/m.exec(output)?.[1] ?? '');
  const p99 = wrkMs(/^\s+99%\s+(\S+)/m.exec(output)?.[1] ?? '');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  if (!Number.isFinite(requestsPerSecond) || !Number.isFinite(total))
    throw new Error(`unreadable wrk output:\n${output}`);
  return { requestsPerSecond, total, p50, p99, bad: non2xx + socketErrors };
}

const lua = (value: string): string => JSON.stringify(value);

/** The Lua script for a request that is not a plain GET. */
function script(request: LoadRequest): string {
  const lines = [`wrk.method = ${lua(request.method ?? 'GET')}`];
  if (request.body !== undefined) lines.push(`wrk.body = ${lua(request.body)}`);
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    lines.push(`wrk.headers[${lua(name)}] = ${lua(value)}`);
  }
  if (request.uniqueIds === true) {
    lines.push(
      'local counter = 0',
      `local prefix = ${lua(randomUUID().slice(0, 8))}`,
      'request = function()',
      '  counter = counter + 1',
      '  local id = prefix .. "-" .. counter',
      '  local headers = {}',
      '  for k, v in pairs(wrk.headers) do headers[k] = string.gsub(v, "%[<id>%]", id) end',
      '  return wrk.format(nil, nil, headers, nil)',
      'end',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Starts wrk; `pid` lets the caller read its CPU while it runs. */
export async function runWrk(
  request: LoadRequest,
  connections: number,
  seconds: number,
): Promise<{ readonly pid: number; readonly done: Promise<WrkRun> }> {
  const plain =
    (request.method ?? 'GET') === 'GET' &&
    request.body === undefined &&
    Object.keys(request.headers ?? {}).length === 0;
  let file: string | undefined;
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '10s'];
  if (!plain) {
    file = path.join(os.tmpdir(), `bench-wrk-${randomUUID()}.lua`);
    await writeFile(file, script(request));
    args.push('-s', file);
  }
  args.push(request.url);
  const child = spawnTracked('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => (output += chunk));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const done = new Promise<WrkRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(parse(output));
      else reject(new Error(`wrk exited ${code}: ${output}`));
    });
  }).finally(() => (file === undefined ? undefined : rm(file, { force: true })));
  return { pid: child.pid ?? -1, done };
}
