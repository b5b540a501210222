/**
 * The baseline for upload throughput: bare node:http + busboy piping each file
 * part into a file under BENCH_FILES_DIR (no auth, no hashing, no sniffing, no
 * fsync, no database), answering 201 when every part is written.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { bareUploadHandler } from './bare-upload.js';
import { closeServer, exitOnSignal, listenAndAnnounce } from './serve.js';

const dir = process.env['BENCH_FILES_DIR'] ?? '.';

const server = createServer(
  bareUploadHandler(async (part) => {
    const name = randomUUID();
    await pipeline(part, createWriteStream(path.join(dir, name)));
    return name;
  }),
);
server.requestTimeout = 600_000;
exitOnSignal(() => closeServer(server));
await listenAndAnnounce(server, { server: 'files-bare' });
