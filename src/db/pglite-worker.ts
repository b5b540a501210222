/**
 * The embedded database's thread: opens PGlite and serves it on a Unix socket
 * (pglite-wire.ts), so its WASM work never runs on the main thread's event
 * loop. Started by embedded.ts, which holds the data directory's lock.
 *
 * Messages to the parent: {type:'listening'} once the socket accepts (queries
 * wait until PGlite is open), {type:'ready', ms} once PGlite is open,
 * {type:'failed', message} if it could not open, {type:'closed'} after
 * {type:'close'} from the parent.
 */
import { unlink } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import type { PGlite, PGliteOptions } from '@electric-sql/pglite';
import { loadPgliteExtensions } from './pglite-extensions.js';
import { createWireServer } from './pglite-wire.js';

export interface PgliteWorkerData {
  /** PGlite's data directory, or memory://. */
  readonly dataDir: string;
  readonly socketPath: string;
  readonly extensions: Readonly<Record<string, string>>;
  readonly waitTimeoutMs: number;
}

export type PgliteWorkerMessage =
  | { type: 'listening' }
  | { type: 'ready'; ms: number }
  | { type: 'failed'; message: string }
  | { type: 'closed' };

const data = workerData as PgliteWorkerData;
const port = parentPort;
if (port === null) throw new Error('pglite-worker.ts runs as a worker thread only');
const post = (message: PgliteWorkerMessage): void => port.postMessage(message);

const started = performance.now();
let open: (pglite: Promise<PGlite>) => void = () => undefined;
const opening = new Promise<PGlite>((resolve) => {
  open = (pglite) => resolve(pglite);
});
const wire = createWireServer({ backend: opening, waitTimeoutMs: data.waitTimeoutMs });

// Listening comes first: if the socket cannot be made here, nothing has touched the data yet.
// A socket file left by a process that was killed is ours now (the caller holds the lock).
await unlink(data.socketPath).catch(() => undefined);
await new Promise<void>((resolve, reject) => {
  wire.server.once('error', reject);
  wire.server.listen(data.socketPath, () => {
    wire.server.off('error', reject);
    resolve();
  });
});
post({ type: 'listening' });

open(
  (async (): Promise<PGlite> => {
    const { PGlite } = await import('@electric-sql/pglite');
    const extensions = (await loadPgliteExtensions(data.extensions)) as PGliteOptions['extensions'];
    const pglite = new PGlite(data.dataDir, extensions === undefined ? {} : { extensions });
    await pglite.waitReady;
    return pglite;
  })(),
);
opening.then(
  () => post({ type: 'ready', ms: performance.now() - started }),
  (error: unknown) =>
    post({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
);

port.on('message', (message: { type?: unknown }) => {
  if (message.type !== 'close') return;
  void (async () => {
    await wire.close();
    const pglite = await opening.catch(() => undefined);
    try {
      await pglite?.close();
    } finally {
      await unlink(data.socketPath).catch(() => undefined);
      post({ type: 'closed' });
    }
  })();
});
