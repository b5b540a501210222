/**
 * The second baseline for the `database` file driver, on PostgreSQL: bare
 * node:http + busboy storing each file part in `file_chunks` exactly as the
 * driver does (the same cutting into 1 MiB chunks, the same binary COPY
 * batches, the same number in flight), with no auth, hashing, sniffing,
 * `files` row or pipeline. Against it, the ratio is the cost of everything
 * the API does around storing the bytes; against files-bare.ts, the cost of
 * storing them in PostgreSQL rather than in a file.
 *   POST /upload          → 201 {"keys": [...]}
 *   DELETE /objects/{key} → 204
 */
import { createServer } from 'node:http';
import busboy from 'busboy';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/db/database.js';
import { deleteChunks, insertChunks } from '../../src/db/repos/file-chunks.repo.js';
import { WRITES_IN_FLIGHT, writeChunks } from '../../src/files/database-storage.js';
import { assertStorageKey, newStorageKey } from '../../src/files/storage.js';
import { benchAppEnv, closeServer, exitOnSignal, listenAndAnnounce } from './serve.js';

const database = await createDatabase(loadConfig(benchAppEnv()));
if (database.kind !== 'postgres') throw new Error('files-bare-copy.ts needs BENCH_DATABASE_URL (PostgreSQL)');

const server = createServer((req, res) => {
  const removing = /^\/objects\/([^/]+)$/.exec(req.url ?? '');
  if (req.method === 'DELETE' && removing?.[1] !== undefined) {
    const key = removing[1];
    assertStorageKey(key);
    deleteChunks(database.db, key).then(
      () => res.writeHead(204).end(),
      () => res.writeHead(500).end(),
    );
    return;
  }
  const parser = busboy({ headers: req.headers });
  const writes: Promise<void>[] = [];
  const keys: string[] = [];
  parser.on('file', (_name, stream) => {
    const key = newStorageKey();
    keys.push(key);
    const write = writeChunks(
      stream,
      (chunks) => insertChunks(database, key, chunks),
      WRITES_IN_FLIGHT.postgres,
    );
    write.catch(() => undefined); // reported through Promise.all below
    writes.push(write);
  });
  parser.on('close', () => {
    Promise.all(writes).then(
      () => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ keys })),
      () => res.writeHead(500).end(),
    );
  });
  parser.on('error', () => res.writeHead(400).end());
  req.pipe(parser);
});
server.requestTimeout = 600_000;
exitOnSignal(async () => {
  await closeServer(server);
  await database.close();
});
await listenAndAnnounce(server, { server: 'files-bare-copy' });
