/**
 * The embedded database, run off the main thread: PGlite in a worker thread
 * (pglite-worker.ts) serving the PostgreSQL wire protocol on a Unix socket,
 * which the app's pg pool connects to like to any PostgreSQL server.
 *
 * On a data directory, the socket is `<DATA_DIR>/.s.PGSQL.5432` (a
 * server.json beside the lock says where it is, and which process serves it):
 * while a server runs, the CLI tools connect to it instead of being refused.
 * A second server on the same directory is still refused (data-dir-lock.ts).
 */
import { mkdir, mkdtemp, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { DataDirLockedError, lockDataDir } from './data-dir-lock.js';
import type { DataDirLock } from './data-dir-lock.js';
import type { PgliteWorkerData, PgliteWorkerMessage } from './pglite-worker.js';

/** dataDir value that gives a throw-away in-memory PGlite (tests). */
export const MEMORY_DATA_DIR = 'memory://';

/** The file in a data directory that names the running server's socket. */
export const SERVER_FILE = 'pglite.server.json';

/** The port in the socket's name (`.s.PGSQL.<port>`), as libpq and pg name Unix sockets. */
const SOCKET_PORT = 5432;
/** Linux keeps at most 107 bytes of a socket's path; longer ones move to a private temp dir. */
const MAX_SOCKET_PATH = 100;

/** Where a pg client finds the embedded database: `host` is the socket's directory. */
export interface SocketAddress {
  readonly host: string;
  readonly port: number;
}

interface ServerFile extends SocketAddress {
  readonly pid: number;
}

export interface EmbeddedDatabase {
  readonly address: SocketAddress;
  /** True when this process runs the database; false when it connected to another process's. */
  readonly owned: boolean;
  /** Resolves with PGlite's opening time (ms) once it is open; rejects if it could not open. */
  readonly ready: Promise<number>;
  /** Stops the worker (PGlite closed cleanly), removes the socket, releases the lock. Safe to call twice. */
  close(): Promise<void>;
}

export interface EmbeddedOptions {
  /** What to do when another process holds the directory: refuse (a server) or connect to it (the CLI tools). */
  readonly whenInUse: 'refuse' | 'connect';
  readonly extensions: Readonly<Record<string, string>>;
  readonly waitTimeoutMs: number;
  readonly onWorkerError?: (error: Error) => void;
}

const socketName = `.s.PGSQL.${SOCKET_PORT}`;

/**
 * The worker thread: the compiled pglite-worker.js, or under tsx (tests, `npm
 * run dev`, the CLI tools) the .ts file, loaded through tsx registered in the
 * worker itself (on Node 20, `--import tsx` registers it on the main thread only).
 */
function createWorker(workerData: PgliteWorkerData): Worker {
  const extension = path.extname(new URL(import.meta.url).pathname);
  const entry = new URL(`./pglite-worker${extension}`, import.meta.url);
  if (extension !== '.ts') return new Worker(entry, { workerData });
  // tsx's ESM API ('tsx/esm/api', its import build), registered for this thread before the entry is imported.
  const tsxRoot = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const api = pathToFileURL(path.join(tsxRoot, 'dist/esm/api/index.mjs')).href;
  const code =
    `import(${JSON.stringify(api)})` +
    `.then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(code, { eval: true, workerData });
}

/**
 * Opens the embedded database under `dataDir` in a worker thread, or connects
 * to the one another process serves there (`whenInUse: 'connect'`).
 * @example const embedded = await openEmbedded('./data', { whenInUse: 'refuse', extensions: {}, waitTimeoutMs: 30_000 });
 */
export async function openEmbedded(dataDir: string, options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  if (dataDir === MEMORY_DATA_DIR) return startInPrivateDir(MEMORY_DATA_DIR, options, async () => undefined);
  const root = path.resolve(dataDir);
  await mkdir(path.join(root, 'pglite'), { recursive: true });
  let lock: DataDirLock;
  try {
    lock = await lockDataDir(dataDir);
  } catch (error) {
    if (error instanceof DataDirLockedError && options.whenInUse === 'connect') {
      return connectToRunning(root, error);
    }
    throw error;
  }
  try {
    const serverFile = path.join(root, SERVER_FILE);
    const pgliteDir = path.join(root, 'pglite');
    const release = async (): Promise<void> => {
      await unlink(serverFile).catch(() => undefined);
      await lock.release();
    };
    // A path too long for a socket, or a file system that cannot hold one (some network and
    // shared-folder mounts): the socket goes to a private temp dir instead.
    const embedded =
      Buffer.byteLength(path.join(root, socketName)) > MAX_SOCKET_PATH
        ? await startInPrivateDir(pgliteDir, options, release)
        : await startWorker(pgliteDir, root, options, release).catch(() =>
            startInPrivateDir(pgliteDir, options, release),
          );
    // Written once the socket accepts, so a tool that finds it can connect (and wait for PGlite).
    const record: ServerFile = { pid: process.pid, ...embedded.address };
    try {
      await writeFile(`${serverFile}.${process.pid}`, `${JSON.stringify(record)}\n`);
      await rename(`${serverFile}.${process.pid}`, serverFile);
    } catch (error) {
      await embedded.close();
      throw error;
    }
    return embedded;
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** The running server's socket, if its server file names the lock's owner and the socket answers. */
async function connectToRunning(root: string, locked: DataDirLockedError): Promise<EmbeddedDatabase> {
  const refuse = (why: string): DataDirLockedError =>
    Object.assign(locked, { message: `${locked.message} (Its database could not be reached: ${why}.)` });
  let record: ServerFile;
  try {
    record = JSON.parse(await readFile(path.join(root, SERVER_FILE), 'utf8')) as ServerFile;
  } catch {
    throw refuse(`${SERVER_FILE} is missing`);
  }
  if (record.pid !== locked.pid) throw refuse(`${SERVER_FILE} names process ${record.pid}`);
  const address: SocketAddress = { host: record.host, port: record.port };
  const client = new pg.Client({ ...address, user: 'postgres', database: 'postgres' });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    throw refuse((error as Error).message);
  } finally {
    await client.end().catch(() => undefined);
  }
  return { address, owned: false, ready: Promise.resolve(0), close: async () => undefined };
}

/** startWorker with the socket in a new private temp dir, removed on close. */
async function startInPrivateDir(
  pgliteDir: string,
  options: EmbeddedOptions,
  cleanUp: () => Promise<void>,
): Promise<EmbeddedDatabase> {
  const socketDir = await mkdtemp(path.join(os.tmpdir(), 'pglite-'));
  const remove = (): Promise<void> => rm(socketDir, { recursive: true, force: true });
  try {
    return await startWorker(pgliteDir, socketDir, options, async () => {
      await remove();
      await cleanUp();
    });
  } catch (error) {
    await remove();
    throw error;
  }
}

/** Starts the worker and resolves once its socket accepts; `cleanUp` runs after close(). */
async function startWorker(
  pgliteDir: string,
  socketDir: string,
  options: EmbeddedOptions,
  cleanUp: () => Promise<void>,
): Promise<EmbeddedDatabase> {
  const workerData: PgliteWorkerData = {
    dataDir: pgliteDir,
    socketPath: path.join(socketDir, socketName),
    extensions: options.extensions,
    waitTimeoutMs: options.waitTimeoutMs,
  };
  const worker = createWorker(workerData);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    worker.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  /** The next message of a type, or the worker's failure. */
  const next = <T extends PgliteWorkerMessage['type']>(
    type: T,
  ): Promise<Extract<PgliteWorkerMessage, { type: T }>> =>
    new Promise((resolve, reject) => {
      const onMessage = (message: PgliteWorkerMessage): void => {
        if (message.type === type) {
          off();
          resolve(message as Extract<PgliteWorkerMessage, { type: T }>);
        } else if (message.type === 'failed') {
          off();
          reject(new Error(`the embedded database could not be opened: ${message.message}`));
        }
      };
      const onError = (error: Error): void => {
        off();
        reject(error);
      };
      const onExit = (code: number): void => {
        off();
        reject(new Error(`the embedded database's thread stopped (exit code ${code})`));
      };
      const off = (): void => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
    });
  worker.on('error', (error) => options.onWorkerError?.(error));

  const stop = async (): Promise<void> => {
    if (exited) return;
    worker.ref();
    const closed = next('closed').catch(() => undefined);
    worker.postMessage({ type: 'close' });
    await closed;
    await worker.terminate();
    await exit;
  };
  try {
    await next('listening');
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  const ready = next('ready').then(
    ({ ms }) => {
      // Open and idle, it must not keep the process alive by itself (close() refs it again).
      worker.unref();
      return ms;
    },
    async (error: unknown) => {
      await stop().catch(() => undefined);
      throw error;
    },
  );
  ready.catch(() => undefined);
  let closing: Promise<void> | undefined;
  return {
    address: { host: socketDir, port: SOCKET_PORT },
    owned: true,
    ready,
    close() {
      closing ??= (async () => {
        try {
          await stop();
        } finally {
          await cleanUp();
        }
      })();
      return closing;
    },
  };
}
