/**
 * The files section of `npm run bench` (BENCH_ONLY=files): the real app
 * (files-app.ts, a child process) against a bare busboy-to-file route
 * (files-bare.ts, another child) in the same run.
 *
 *   - one 256 MiB upload and its download per round, per storage driver
 *     (BENCH_FILES_STORAGE=local,database): MB/s, and the server's peak RSS
 *     growth over its idle RSS, sampled from /proc every 20 ms. Target: < 64 MiB.
 *   - upload throughput of the app vs the bare route, rounds interleaved
 *     (order rotating), medians. Target: ≥ 50 %. The `database` driver on
 *     PostgreSQL is also measured against files-bare-copy.ts, a bare route
 *     that stores the same chunks the same way, so the report separates what
 *     PostgreSQL's storage costs from what the API around it costs.
 *   - 200 concurrent 100 kB uploads: wall time, uploads/s, p50/p99 latency,
 *     every one 201, and as many rows as uploads.
 *
 * The database is a fresh PostgreSQL database (dropped on the way out) when
 * BENCH_DB includes postgres, else a temp PGlite directory.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { onCleanup, runTracked, startServer } from './processes.js';
import type { ServerChild } from './processes.js';
import { failed, heading, int, lpad, median, pad, pct, verdict } from './report.js';
import { HOST } from './serve.js';

const run = promisify(execFile);

export const FILES_SECTION = 'files';

const MiB = 1024 * 1024;
const BIG_BYTES = 256 * MiB;
const SMALL_BYTES = 100 * 1000;
/** Uploaded once (and downloaded) before the measured rounds; not counted. */
const WARM_UP_BYTES = 32 * MiB;
const CONCURRENT = 200;
const TARGET_RSS_GROWTH = 64 * MiB;
const TARGET_RATIO = 0.5;
const BOUNDARY = 'bench-files-boundary-7c9e6679';

export interface FilesSettings {
  readonly rounds: number;
  readonly databases: ReadonlySet<string>;
  readonly pgHost: string;
  readonly pgUser: string;
}

interface Transfer {
  readonly mbPerSecond: number;
  readonly rssGrowth: number;
}

export interface FilesResult {
  readonly storage: string;
  readonly uploads: Transfer[];
  readonly downloads: Transfer[];
  readonly bareUploads: number[];
  /** The bare busboy → COPY route (files-bare-copy.ts), `database` storage on PostgreSQL only. */
  readonly copyUploads: number[];
  readonly concurrent?: { wallMs: number; perSecond: number; p50: number; p99: number; ok: number };
  readonly bareConcurrent?: { wallMs: number; perSecond: number; p50: number; p99: number; ok: number };
}

// ---------------------------------------------------------------- measuring

/** Samples a process's resident set size (VmRSS) until stopped; reports the idle baseline and the peak. */
function sampleRss(pid: number): { stop(): Promise<{ baseline: number; peak: number }> } {
  const read = async (): Promise<number> => {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return Number(kb ?? NaN) * 1024;
  };
  let baseline = NaN;
  let peak = 0;
  let running = true;
  const loop = (async () => {
    baseline = await read();
    peak = baseline;
    while (running) {
      peak = Math.max(peak, await read());
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    peak = Math.max(peak, await read());
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { baseline, peak };
    },
  };
}

/** A multipart body of one file part of `bytes` bytes, made from one repeated 1 MiB random block. */
function multipartStream(bytes: number, part: string, block: Buffer): { length: number; stream: Readable } {
  const head = Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part}"; filename="bench.bin"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  function* chunks(): Generator<Buffer> {
    yield head;
    for (let sent = 0; sent < bytes; sent += block.length)
      yield block.subarray(0, Math.min(block.length, bytes - sent));
    yield tail;
  }
  return {
    length: head.length + bytes + tail.length,
    stream: Readable.from(chunks(), { objectMode: false }),
  };
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk));
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}

async function upload(
  port: number,
  urlPath: string,
  part: string,
  bytes: number,
  block: Buffer,
  token: string | undefined,
): Promise<{ ms: number; status: number; body: string }> {
  const { length, stream } = multipartStream(bytes, part, block);
  const started = performance.now();
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: HOST,
        port,
        path: urlPath,
        method: 'POST',
        headers: {
          'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
          'content-length': String(length),
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        },
      },
      (res) => {
        readAll(res).then((body) => resolve({ status: res.statusCode ?? 0, body }), reject);
      },
    );
    req.on('error', reject);
    pipeline(stream, req).catch(reject);
  });
  const { status, body } = await answer;
  return { ms: performance.now() - started, status, body };
}

function download(
  port: number,
  id: number,
  token: string,
): Promise<{ ms: number; bytes: number; status: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: HOST, port, path: `/download/${id}`, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve({ ms: performance.now() - started, bytes, status: res.statusCode ?? 0 }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** DELETE `urlPath` (with the bearer token, when given); resolves with the status. */
function remove(port: number, urlPath: string, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: HOST,
        port,
        path: urlPath,
        method: 'DELETE',
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** `total` of GET /files: how many rows the caller has. */
function listedTotal(port: number, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: HOST, port, path: '/files?limit=1', headers: { authorization: `Bearer ${token}` } },
      (res) => {
        readAll(res).then((body) => resolve((JSON.parse(body) as { total: number }).total), reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Removes what the bare route wrote, keeping its directory. */
async function emptyDir(dir: string): Promise<void> {
  for (const name of await readdir(dir)) await rm(path.join(dir, name), { force: true });
}

const mbps = (bytes: number, ms: number): number => bytes / MiB / (ms / 1000);

async function concurrentUploads(
  server: ServerChild,
  urlPath: string,
  part: string,
  token: string | undefined,
): Promise<NonNullable<FilesResult['concurrent']>> {
  const block = randomBytes(SMALL_BYTES);
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: CONCURRENT }, () =>
      upload(server.port, urlPath, part, SMALL_BYTES, block, token).catch(() => ({
        ms: NaN,
        status: 0,
        body: '',
      })),
    ),
  );
  const wallMs = performance.now() - started;
  const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
  return {
    wallMs,
    perSecond: CONCURRENT / (wallMs / 1000),
    p50: latencies[Math.floor(CONCURRENT * 0.5)] ?? NaN,
    p99: latencies[Math.floor(CONCURRENT * 0.99)] ?? NaN,
    ok: results.filter((r) => r.status === 201).length,
  };
}

// ---------------------------------------------------------------- the section

async function databaseEnv(settings: FilesSettings): Promise<Record<string, string>> {
  if (settings.databases.has('postgres')) {
    const name = `bench_${process.pid}_files`;
    const args = ['-h', settings.pgHost, '-U', settings.pgUser];
    await runTracked('createdb', [...args, name], 30_000);
    onCleanup(async () => {
      await run('dropdb', [...args, '--if-exists', '--force', name], { timeout: 30_000 });
    });
    console.log(`Database: PostgreSQL, fresh database ${name}.`);
    return { BENCH_DATABASE_URL: `postgres://${settings.pgUser}@${settings.pgHost}:5432/${name}` };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-files-pglite-'));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  console.log(`Database: embedded PGlite under ${dir}.`);
  return { BENCH_DATA_DIR: dir };
}

async function oneStorage(
  storage: string,
  settings: FilesSettings,
  database: Record<string, string>,
  bare: ServerChild,
  bareDir: string,
  block: Buffer,
  expectedSha: string,
): Promise<FilesResult> {
  heading(`8. Files: ${storage} storage`);
  const filesDir = await mkdtemp(path.join(os.tmpdir(), `bench-files-${storage}-`));
  onCleanup(() => rm(filesDir, { recursive: true, force: true }));
  const env: Record<string, string | undefined> = { ...process.env };
  delete env['BENCH_DATABASE_URL'];
  delete env['BENCH_DATA_DIR'];
  Object.assign(env, database, { BENCH_FILE_STORAGE: storage, BENCH_FILES_DIR: filesDir });
  const app = await startServer('scripts/bench/files-app.ts', [], { env, timeoutMs: 120_000 });
  const token = String(app.announcement['token']);
  const result: FilesResult = { storage, uploads: [], downloads: [], bareUploads: [], copyUploads: [] };
  let copy: ServerChild | undefined;
  try {
    // The database driver on PostgreSQL is also measured against a bare route storing the same chunks the same way.
    if (storage === 'database' && database['BENCH_DATABASE_URL'] !== undefined) {
      copy = await startServer('scripts/bench/files-bare-copy.ts', [], { env });
    }
    const targets = copy === undefined ? (['app', 'bare'] as const) : (['app', 'bare', 'copy'] as const);
    const rounds = Math.max(3, settings.rounds);
    console.log(
      `After a ${WARM_UP_BYTES / MiB} MiB warm-up upload and download (not counted): ${rounds} rounds of one ` +
        `${BIG_BYTES / MiB} MiB upload (then its download) to the app, and one to ` +
        (copy === undefined ? 'the bare route' : 'each bare route (to a file; by COPY into file_chunks)') +
        ', rotating which goes first.',
    );
    // One-time costs (JIT, first database round trips, buffers) belong to no round.
    const warmUp = await upload(app.port, '/upload', 'file', WARM_UP_BYTES, block, token);
    if (warmUp.status !== 201)
      throw new Error(`warm-up upload: ${warmUp.status} ${warmUp.body.slice(0, 300)}`);
    const warmId = (JSON.parse(warmUp.body) as { id: number }).id;
    await download(app.port, warmId, token);
    await remove(app.port, `/files/${warmId}`, token);
    for (let round = 0; round < rounds; round += 1) {
      const order = targets.map((_, i) => targets[(i + round) % targets.length] ?? 'app');
      for (const target of order) {
        if (target === 'copy' && copy !== undefined) {
          const sent = await upload(copy.port, '/upload', 'file', BIG_BYTES, block, undefined);
          if (sent.status !== 201) throw new Error(`bare COPY upload: ${sent.status} ${sent.body}`);
          result.copyUploads.push(mbps(BIG_BYTES, sent.ms));
          for (const key of (JSON.parse(sent.body) as { stored: string[] }).stored) {
            if ((await remove(copy.port, `/objects/${key}`)) !== 204)
              throw new Error('bare COPY delete failed');
          }
          continue;
        }
        if (target === 'bare') {
          const sent = await upload(bare.port, '/upload', 'file', BIG_BYTES, block, undefined);
          if (sent.status !== 201) throw new Error(`bare upload: ${sent.status} ${sent.body}`);
          result.bareUploads.push(mbps(BIG_BYTES, sent.ms));
          await emptyDir(bareDir);
          continue;
        }
        const pid = app.process.pid ?? 0;
        const upRss = sampleRss(pid);
        const sent = await upload(app.port, '/upload', 'file', BIG_BYTES, block, token);
        const up = await upRss.stop();
        if (sent.status !== 201) throw new Error(`app upload: ${sent.status} ${sent.body.slice(0, 300)}`);
        const file = JSON.parse(sent.body) as { id: number; size: number; sha256: string };
        if (file.size !== BIG_BYTES || file.sha256 !== expectedSha)
          throw new Error('app upload: wrong size or SHA-256');
        result.uploads.push({ mbPerSecond: mbps(BIG_BYTES, sent.ms), rssGrowth: up.peak - up.baseline });

        const downRss = sampleRss(pid);
        const got = await download(app.port, file.id, token);
        const down = await downRss.stop();
        if (got.status !== 200 || got.bytes !== BIG_BYTES)
          throw new Error(`download: ${got.status}, ${got.bytes} bytes`);
        result.downloads.push({ mbPerSecond: mbps(BIG_BYTES, got.ms), rssGrowth: down.peak - down.baseline });
        if ((await remove(app.port, `/files/${file.id}`, token)) !== 204) throw new Error('delete failed');
      }
      const last = result.uploads.at(-1);
      const lastDown = result.downloads.at(-1);
      console.log(
        `  round ${round + 1}: app upload ${last?.mbPerSecond.toFixed(0)} MB/s (RSS +${int((last?.rssGrowth ?? NaN) / MiB)} MiB), ` +
          `download ${lastDown?.mbPerSecond.toFixed(0)} MB/s (RSS +${int((lastDown?.rssGrowth ?? NaN) / MiB)} MiB); ` +
          `bare upload ${result.bareUploads.at(-1)?.toFixed(0)} MB/s` +
          (copy === undefined ? '' : `, bare COPY upload ${result.copyUploads.at(-1)?.toFixed(0)} MB/s`),
      );
    }
    console.log(
      `${CONCURRENT} concurrent uploads of ${SMALL_BYTES / 1000} kB each (after one such batch as a warm-up):`,
    );
    const warm = await concurrentUploads(app, '/upload', 'file', token);
    const concurrent = await concurrentUploads(app, '/upload', 'file', token);
    const rows = await listedTotal(app.port, token);
    if (rows !== warm.ok + concurrent.ok) {
      throw new Error(`${warm.ok + concurrent.ok} uploads answered 201 but ${rows} files are listed`);
    }
    await concurrentUploads(bare, '/upload', 'file', undefined);
    await emptyDir(bareDir);
    const bareConcurrent = await concurrentUploads(bare, '/upload', 'file', undefined);
    await emptyDir(bareDir);
    for (const [label, c] of [
      ['app', concurrent],
      ['bare', bareConcurrent],
    ] as const) {
      console.log(
        `  ${pad(label, 5)} ${int(c.wallMs)} ms wall, ${int(c.perSecond)} uploads/s, p50 ${int(c.p50)} ms, ` +
          `p99 ${int(c.p99)} ms, ${c.ok}/${CONCURRENT} answered 201`,
      );
    }
    return { ...result, concurrent, bareConcurrent };
  } finally {
    await app.stop();
    await copy?.stop();
  }
}

export async function filesSection(settings: FilesSettings): Promise<FilesResult[]> {
  const storages = (process.env['BENCH_FILES_STORAGE'] ?? 'local,database').split(',');
  heading('8. Files: 256 MiB up and down, bare busboy comparison, 200 concurrent uploads');
  const results: FilesResult[] = [];
  try {
    const database = await databaseEnv(settings);
    const bareDir = await mkdtemp(path.join(os.tmpdir(), 'bench-files-bare-'));
    onCleanup(() => rm(bareDir, { recursive: true, force: true }));
    const bare = await startServer('scripts/bench/files-bare.ts', [], {
      env: { ...process.env, BENCH_FILES_DIR: bareDir },
    });
    const block = randomBytes(MiB);
    const hash = createHash('sha256');
    for (let sent = 0; sent < BIG_BYTES; sent += MiB) hash.update(block);
    const expectedSha = hash.digest('hex');
    try {
      for (const storage of storages) {
        try {
          results.push(await oneStorage(storage, settings, database, bare, bareDir, block, expectedSha));
        } catch (error) {
          failed(`files (${storage})`, error);
        }
      }
    } finally {
      await bare.stop();
    }
  } catch (error) {
    failed('files', error);
  }
  return results;
}

export function printFilesSummary(results: readonly FilesResult[]): void {
  for (const r of results) {
    const up = median(r.uploads.map((u) => u.mbPerSecond));
    const down = median(r.downloads.map((d) => d.mbPerSecond));
    const bare = median(r.bareUploads);
    const growth = Math.max(...r.uploads.map((u) => u.rssGrowth), ...r.downloads.map((d) => d.rssGrowth));
    const ratio = up / bare;
    const copy = median(r.copyUploads);
    console.log(
      `  files (${pad(r.storage, 8)}) upload ${lpad(up.toFixed(0), 4)} MB/s = ${pct(ratio)} of bare ` +
        `${bare.toFixed(0)} MB/s ${verdict(ratio >= TARGET_RATIO)}` +
        (r.copyUploads.length === 0 ? '' : ` (${pct(up / copy)} of bare COPY ${copy.toFixed(0)} MB/s)`) +
        `; download ${down.toFixed(0)} MB/s; peak RSS growth ${int(growth / MiB)} MiB ` +
        verdict(growth < TARGET_RSS_GROWTH),
    );
    if (r.concurrent !== undefined) {
      console.log(
        `  files (${pad(r.storage, 8)}) ${CONCURRENT} × ${SMALL_BYTES / 1000} kB concurrent: ` +
          `${int(r.concurrent.perSecond)} uploads/s (bare ${int(r.bareConcurrent?.perSecond ?? NaN)}), ` +
          `p99 ${int(r.concurrent.p99)} ms, ${r.concurrent.ok}/${CONCURRENT} ok`,
      );
    }
  }
}
