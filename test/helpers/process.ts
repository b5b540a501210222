/**
 * Runs the real server entry point (`src/server.ts`) as a child process, for
 * tests about processes: clusters, signals, crashes. The child logs JSON lines
 * to stdout; they are kept, parsed, for assertions.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A port that was free a moment ago (the child binds it itself). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly logs: Record<string, unknown>[];
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  readonly exited: Promise<number | string>;
  /** Polls `path` until it answers 200 (default: readiness). */
  waitFor(pathname?: string, timeoutMs?: number): Promise<void>;
  /** What the process wrote to stderr so far. */
  stderr(): string;
  /** Everything it wrote, stdout and stderr, as text (for assertion messages). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
  /** Sends a signal; `kill('SIGKILL')` for a crash. */
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts `node --import tsx src/server.ts` (or, with `entry`, `node <entry>`,
 * a built server) with test settings plus `env`.
 * @example const server = await spawnServer({ DATABASE_URL: url }); await server.waitFor();
 */
export async function spawnServer(
  env: Record<string, string> = {},
  { entry }: { entry?: string } = {},
): Promise<ServerProcess> {
  const port = env['PORT'] ?? String(await freePort());
  const args = entry === undefined ? ['--import', 'tsx', 'src/server.ts'] : [entry];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: {
      PATH: process.env['PATH'] ?? '',
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256-0123456789',
      ARGON2_MEMORY_KIB: '8192',
      // Tests send far more requests from one address than a client would; the limits have their own tests.
      RATE_LIMIT_FACTOR: '0',
      ...env,
      PORT: port,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  let stderr = '';
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    output += chunk.toString('utf8');
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    child,
    url,
    logs,
    exited,
    async waitFor(pathname = '/health/ready', timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let ended = false;
      void exited.then(() => {
        ended = true;
      });
      while (Date.now() < deadline) {
        if (ended) throw new Error(`the server exited before ${pathname} answered 200:\n${stderr}`);
        try {
          const res = await fetch(`${url}${pathname}`);
          await res.arrayBuffer();
          if (res.status === 200) return;
        } catch {
          // not listening yet
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`${pathname} did not answer 200 within ${timeoutMs} ms:\n${stderr}`);
    },
    stderr: () => stderr,
    output: () => output,
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    kill(signal = 'SIGTERM') {
      child.kill(signal);
    },
  };
}

/** Where a spawned server keeps its data, and how to clean it up. */
export interface ServerDatabase {
  /** `DATABASE_URL` or `DATA_DIR`, to merge into spawnServer's environment. */
  readonly env: Record<string, string>;
  /** Removes the data directory, if one was made. */
  remove(): Promise<void>;
}

/**
 * The test run's PostgreSQL when DATABASE_URL is set, else a new embedded data directory.
 * @example const database = await serverDatabase('drain-'); const server = await spawnServer({ ...database.env });
 */
export async function serverDatabase(prefix: string): Promise<ServerDatabase> {
  const databaseUrl = process.env['DATABASE_URL'];
  if (databaseUrl) return { env: { DATABASE_URL: databaseUrl }, remove: () => Promise.resolve() };
  const dataDir = await mkdtemp(path.join(tmpdir(), prefix));
  return { env: { DATA_DIR: dataDir }, remove: () => rm(dataDir, { recursive: true, force: true }) };
}
