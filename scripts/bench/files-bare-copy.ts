/**
 * The second baseline for the `database` file driver, on PostgreSQL: bare
 * node:http + busboy storing each file part in `file_chunks` exactly as the
 * driver does (the same cutting into 1 MiB chunks, the same binary COPY
 * batches, the same number in flight), with no auth, hashing, sniffing,
 * `files` row or pipeline. Against it, the ratio is the cost of everything
 * the API does around storing the bytes; against files-bare.ts, the cost of
 * storing them in PostgreSQL rather than in a file.
 *   POST /upload          → 201 {"stored": [storage keys]}
 *   DELETE /objects/{key} → 204
 */
import { createServer } from 'node:http';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/db/database.js';
import { deleteChunks, insertChunks } from '../../src/db/repos/file-chunks.repo.js';
import { WRITES_IN_FLIGHT, writeChunks } from '../../src/files/database-storage.js';
import { assertStorageKey, newStorageKey } from '../../src/files/storage.js';
import { bareUploadHandler } from './bare-upload.js';
import { benchAppEnv, closeServer, exitOnSignal, listenAndAnnounce } from './serve.js';

const database = await createDatabase(loadConfig(benchAppEnv()));
if (database.kind !== 'postgres') throw new Error('files-bare-copy.ts needs BENCH_DATABASE_URL (PostgreSQL)');

const upload = bareUploadHandler(async (part) => {
  const key = newStorageKey();
  await writeChunks(part, (chunks) => insertChunks(database, key, chunks), WRITES_IN_FLIGHT.postgres);
  return key;
});
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
  upload(req, res);
});
server.requestTimeout = 600_000;
exitOnSignal(async () => {
  await closeServer(server);
  await database.close();
});
await listenAndAnnounce(server, { server: 'files-bare-copy' });
