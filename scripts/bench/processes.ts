/**
 * Parent-side process control for the benchmark: every child is tracked from
 * spawn to exit, so an interrupted run still stops everything it started.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Announcement } from './serve.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');

const live = new Set<ChildProcess>();
/** Set by stopAll: from then on nothing new starts (an interrupted run must not leave orphans). */
let closed = false;

/** Spawns a process tracked until it exits. */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  if (closed) throw new Error('the benchmark is stopping: not starting anything new');
  const child = spawn(command, args, { cwd: ROOT, ...options });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
  return child;
}

/**
 * Runs a command to completion, tracked like any child and killed after
 * `timeoutMs`; rejects on a non-zero exit with the end of its stderr.
 */
export function runTracked(command: string, args: readonly string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawnTracked(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${path.basename(command)} exited ${signal ?? code}: ${stderr.trim()}`));
    });
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** SIGTERM, then SIGKILL if the child has not exited within `graceMs`. */
export async function stop(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

/** Stops every child still running (used on the way out, including after an error or Ctrl-C). */
export async function stopAll(): Promise<void> {
  closed = true;
  await Promise.all([...live].map((child) => stop(child, 3000)));
}

const cleanups: (() => Promise<void>)[] = [];

/** Registers something to remove on the way out (a database, a temp dir), after every child has stopped. */
export function onCleanup(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

/** Stops every child, then runs the registered cleanups, newest first. */
export async function cleanUp(): Promise<void> {
  await stopAll();
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup().catch((error: unknown) => console.error('cleanup failed:', error));
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Runs `node --import tsx <script> ...args` to completion and returns the
 * first JSON line it printed on stdout; its stderr goes to ours.
 */
export async function runScript(
  script: string,
  args: readonly string[],
  env: Env = process.env,
  timeoutMs = 120_000,
): Promise<unknown> {
  const child = spawnTracked(process.execPath, ['--import', 'tsx', path.resolve(ROOT, script), ...args], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  (child.stdout as NodeJS.ReadableStream).setEncoding('utf8');
  (child.stdout as NodeJS.ReadableStream).on('data', (chunk: string) => (output += chunk));
  const timer = setTimeout(() => void stop(child), timeoutMs);
  const code = await exited(child);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${script} exited ${code}`);
  const line = output.split('\n').find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`${script} printed nothing usable:\n${output}`);
  return JSON.parse(line);
}

export interface ServerChild {
  readonly port: number;
  readonly announcement: Announcement;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Options for node itself, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[];
  /** The child's environment; this process's by default. */
  readonly env?: Env;
  readonly timeoutMs?: number;
  /** A command that runs node, e.g. ['valgrind', '--tool=callgrind']; node itself when empty. */
  readonly launcher?: readonly string[];
}

/**
 * Starts `node --import tsx <script> ...args` and resolves once it has
 * announced its port (one JSON line on stdout, see serve.ts).
 */
export function startServer(
  script: string,
  args: readonly string[] = [],
  { nodeArgs = [], env = process.env, timeoutMs = 60_000, launcher = [] }: ServerOptions = {},
): Promise<ServerChild> {
  const nodeCommand = [process.execPath, '--import', 'tsx', ...nodeArgs, path.resolve(ROOT, script), ...args];
  const [command = process.execPath, ...rest] = [...launcher, ...nodeCommand];
  const child = spawnTracked(command, rest, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const fail = (message: string): void => {
      clearTimeout(timer);
      void stop(child);
      reject(new Error(`${script}: ${message}`));
    };
    const timer = setTimeout(() => fail(`no port announced within ${timeoutMs} ms`), timeoutMs);
    const early = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(`exited (${signal ?? code}) before announcing a port`);
    child.once('exit', early);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return; // not the announcement
      }
      const port = (parsed as { port?: unknown }).port;
      if (typeof port !== 'number') return;
      clearTimeout(timer);
      child.off('exit', early);
      resolve({
        port,
        announcement: parsed as Announcement,
        process: child,
        stop: () => stop(child),
      });
    });
  });
}
