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
import busboy from 'busboy';
import { closeServer, exitOnSignal, listenAndAnnounce } from './serve.js';

const dir = process.env['BENCH_FILES_DIR'] ?? '.';

const server = createServer((req, res) => {
  const parser = busboy({ headers: req.headers });
  const writes: Promise<void>[] = [];
  parser.on('file', (_name, stream) => {
    const write = pipeline(stream, createWriteStream(path.join(dir, randomUUID())));
    write.catch(() => undefined); // reported through Promise.all below
    writes.push(write);
  });
  parser.on('close', () => {
    Promise.all(writes).then(
      () => {
        res.writeHead(201, { 'content-type': 'application/json' }).end('{}');
      },
      () => {
        res.writeHead(500).end();
      },
    );
  });
  parser.on('error', () => {
    res.writeHead(400).end();
  });
  req.pipe(parser);
});
server.requestTimeout = 600_000;
exitOnSignal(() => closeServer(server));
await listenAndAnnounce(server, { server: 'files-bare' });
