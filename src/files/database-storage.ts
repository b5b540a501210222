/**
 * The database driver: an object is rows of `file_chunks` (`bytea`, up to
 * CHUNK_BYTES each; see db/repos/file-chunks.repo.ts), so every process and
 * instance sharing the database sees it. Works the same on PGlite and PostgreSQL.
 *
 * Writing: chunks are sent WRITE_BATCH at a time, one statement per batch, while
 * the next batch is read from the client; at most one batch is in flight,
 * and the source is not read further until it ends (backpressure), so an
 * upload holds at most two batches in memory. No transaction spans the
 * upload: PGlite has one connection, and a long transaction there would
 * stall every other request; a failed upload removes what it wrote.
 *
 * Reading: READ_BATCH chunks per query, fetched only when the reader wants
 * more bytes (Readable.from pulls from the generator as its buffer drains).
 */
import { Readable } from 'node:stream';
import type { DatabaseHandle } from '../db/database.js';
import {
  chunkSizes,
  deleteChunks,
  insertChunks,
  readChunks,
  staleChunkKeys,
} from '../db/repos/file-chunks.repo.js';
import type { Chunk } from '../db/repos/file-chunks.repo.js';
import { assertStorageKey } from './storage.js';
import type { ByteRange, FileStorage } from './storage.js';

/** 1 MiB: the unit of storage and of range reads. */
export const CHUNK_BYTES = 1024 * 1024;
/** Chunks per write statement. */
const WRITE_BATCH = 2;
/**
 * Chunks per read query. On PGlite one: its bytea arrives as hex text, and a
 * larger result grows PGlite's WebAssembly heap (which never shrinks) and the
 * process's RSS with it.
 */
const READ_BATCH = { postgres: 4, pglite: 1 } as const;

async function writeChunks(database: DatabaseHandle, key: string, source: Readable): Promise<void> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let seq = 0;
  let batch: Chunk[] = [];
  let inFlight: Promise<void> = Promise.resolve();
  const send = async (): Promise<void> => {
    await inFlight; // one INSERT at a time: the source waits here while the database is behind
    const rows = batch;
    batch = [];
    inFlight = insertChunks(database, key, rows);
    // Handled where it is awaited (above, or at the end); this only keeps it from counting as unhandled.
    inFlight.catch(() => undefined);
  };
  const cut = async (): Promise<void> => {
    batch.push({ seq, data: Buffer.concat(pending, pendingBytes) });
    seq += 1;
    pending = [];
    pendingBytes = 0;
    if (batch.length >= WRITE_BATCH) await send();
  };
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      let rest = chunk;
      while (pendingBytes + rest.length >= CHUNK_BYTES) {
        const take = CHUNK_BYTES - pendingBytes;
        pending.push(rest.subarray(0, take));
        pendingBytes += take;
        rest = rest.subarray(take);
        await cut();
      }
      if (rest.length > 0) {
        pending.push(rest);
        pendingBytes += rest.length;
      }
    }
    if (pendingBytes > 0 || seq === 0) await cut(); // an empty object is one empty chunk
    if (batch.length > 0) await send();
    await inFlight;
  } catch (error) {
    // Let a batch still being written land first, so that the caller's cleanup removes it too.
    await inFlight.catch(() => undefined);
    throw error;
  }
}

/** Yields the object's bytes in [start, end], READ_BATCH chunks per query. */
async function* readRange(
  database: DatabaseHandle,
  key: string,
  range: ByteRange | undefined,
): AsyncGenerator<Buffer> {
  const sizes = await chunkSizes(database.db, key);
  if (sizes.length === 0) throw new Error(`stored object ${key} is missing`);
  // The chunks that overlap the range, each with the part of it wanted.
  const wanted: { seq: number; first: number; last: number }[] = [];
  let offset = 0;
  for (const { seq, bytes } of sizes) {
    const first = range === undefined ? 0 : Math.max(0, range.start - offset);
    const last = range === undefined ? bytes - 1 : Math.min(bytes - 1, range.end - offset);
    offset += bytes;
    if (first <= last) wanted.push({ seq, first, last });
    if (range !== undefined && offset > range.end) break;
  }
  const perQuery = READ_BATCH[database.kind];
  for (let i = 0; i < wanted.length; i += perQuery) {
    const group = wanted.slice(i, i + perQuery);
    const from = group[0]?.seq ?? 0;
    const to = group.at(-1)?.seq ?? 0;
    const chunks = await readChunks(database, key, from, to);
    if (chunks.length !== to - from + 1) throw new Error(`stored object ${key} lost chunks ${from}-${to}`);
    for (const { seq, first, last } of group) {
      const data = chunks[seq - from];
      if (data === undefined) throw new Error(`stored object ${key} lost chunk ${seq}`);
      yield first === 0 && last === data.length - 1 ? data : data.subarray(first, last + 1);
    }
  }
}

export function createDatabaseStorage(database: DatabaseHandle): FileStorage {
  const remove = async (key: string): Promise<void> => {
    assertStorageKey(key);
    await deleteChunks(database.db, key);
  };
  return {
    kind: 'database',
    async write(key, source) {
      assertStorageKey(key);
      try {
        await writeChunks(database, key, source);
      } catch (error) {
        source.destroy();
        await remove(key);
        throw error;
      }
    },
    read(key, range) {
      assertStorageKey(key);
      // highWaterMark 1: hold no chunk beyond the one being written out.
      return Readable.from(readRange(database, key, range), { objectMode: false, highWaterMark: 1 });
    },
    remove,
    staleKeys: (before) => staleChunkKeys(database.db, before),
  };
}
