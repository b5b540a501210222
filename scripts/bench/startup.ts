/**
 * Start-up measurements, all from this (parent) process: time from spawn to
 * the first 200 on GET /health, time from spawn to exit for a command, and
 * the instrumented breakdown of start-up-probe.ts.
 */
import { request } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { exited, runScript, spawnTracked, stop } from './processes.js';

const HOST = '127.0.0.1';

export interface HttpRequest {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs?: number;
}

/** One request over a fresh connection; resolves with status and body, rejects on a socket error or timeout. */
export function httpRequest(
  url: string,
  { method = 'GET', headers = {}, body, timeoutMs = 2000 }: HttpRequest = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const length = body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(body)) };
    const req = request(
      url,
      { method, headers: { ...headers, ...length }, agent: false, timeout: timeoutMs },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export const httpGet = (url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> =>
  httpRequest(url, { timeoutMs });

/** A loopback port that was free a moment ago (the server binds it right after). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, HOST, resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export interface StartResult {
  /** Spawn → first 200 on GET /health, ms. */
  readonly ms: number;
  /** What the server logged on stdout while starting (its pino lines). */
  readonly log: readonly string[];
}

const POLL_MS = 10;

/**
 * Spawns `node <args>` with `env` plus HOST/PORT, polls GET /health every 10 ms
 * until a 200, then stops the server (SIGTERM) and waits for it to exit.
 */
export async function timeToFirst200(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  timeoutMs = 120_000,
): Promise<StartResult> {
  const port = await freePort();
  const log: string[] = [];
  const started = performance.now();
  const child = spawnTracked(process.execPath, args, {
    env: { ...env, HOST, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => log.push(line));
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => log.push(line));
  try {
    const url = `http://${HOST}:${port}/health`;
    for (;;) {
      const attempt = performance.now();
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`server exited (${child.exitCode ?? child.signalCode}):\n${log.join('\n')}`);
      }
      if (attempt - started > timeoutMs) throw new Error(`no 200 within ${timeoutMs} ms`);
      const status = await httpGet(url, 5000).then(
        (response) => response.status,
        () => undefined, // not listening yet
      );
      if (status === 200) return { ms: performance.now() - started, log };
      await sleep(Math.max(0, POLL_MS - (performance.now() - attempt)));
    }
  } finally {
    await stop(child);
  }
}

/** Spawn → exit of `node <args>`, ms; throws on a non-zero exit. */
export async function timeToExit(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  const started = performance.now();
  const child = spawnTracked(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const code = await exited(child);
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited ${code}`);
  return ms;
}

export interface Breakdown {
  readonly phases: readonly (readonly [string, number])[];
  /** ms from process start to the first response, inside the child. */
  readonly total: number;
  /** Figures measured apart from the total (in another process), e.g. the share of one phase. */
  readonly notes?: readonly (readonly [string, number])[];
}

/** Runs `node --import tsx startup-probe.ts ...args` and returns the JSON line it prints. */
const runProbe = (
  env: Readonly<Record<string, string | undefined>>,
  args: readonly string[],
): Promise<unknown> => runScript('scripts/bench/startup-probe.ts', args, env);

/** The start-up phases from start-up-probe.ts, plus the cold cost of compiling the contract. */
export async function startupBreakdown(
  env: Readonly<Record<string, string | undefined>>,
): Promise<Breakdown> {
  const breakdown = (await runProbe(env, [])) as Breakdown;
  const { ajvColdMs } = (await runProbe(env, ['--ajv-only'])) as { ajvColdMs: number };
  return {
    ...breakdown,
    notes: [['of buildApp: createValidation, cold (Ajv compiling the contract)', ajvColdMs]],
  };
}
