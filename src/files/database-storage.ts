/**
 * The database driver: an object is rows of `file_chunks` (`bytea`, up to
 * CHUNK_BYTES each; see db/repos/file-chunks.repo.ts), so every process and
 * instance sharing the database sees it. Works the same on PGlite and PostgreSQL.
 *
 * Writing: chunks are sent WRITE_BATCH at a time, one statement per batch, while
 * the next batch is read from the client; at most WRITES_IN_FLIGHT batches are
 * in flight, and the source is not read further until one of them ends
 * (backpressure), so an upload holds at most one batch more than that in
 * memory. No transaction spans the
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
export const WRITE_BATCH = 2;
/**
 * Write statements in flight at once for one upload. On PostgreSQL two, each
 * on its own pooled connection: the server then stores one batch while it
 * receives the next, about a third faster than one at a time here
 * (docs/file-storage-database.md). On PGlite one: it has a single connection.
 */
export const WRITES_IN_FLIGHT = { postgres: 2, pglite: 1 } as const;
/**
 * Chunks per read query. On PGlite one: its bytea arrives as hex text, and a
 * larger result grows PGlite's WebAssembly heap (which never shrinks) and the
 * process's RSS with it.
 */
const READ_BATCH = { postgres: 4, pglite: 1 } as const;

/** Writes one batch of chunks (one statement). */
export type InsertBatch = (chunks: readonly Chunk[]) => Promise<void>;

/**
 * Cuts `source` into CHUNK_BYTES chunks numbered from 0 and writes them
 * WRITE_BATCH at a time through `insert`, with at most `depth` batches in
 * flight. The source is not read while `depth` batches are in flight, so an
 * upload holds at most `depth + 1` batches in memory and a client faster than
 * the database is slowed by TCP backpressure. On a failure it waits for every
 * batch still in flight before it throws, so that the caller's cleanup sees
 * every row that was written.
 */
export async function writeChunks(source: Readable, insert: InsertBatch, depth: number): Promise<void> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let seq = 0;
  let batch: Chunk[] = [];
  const inFlight: Promise<void>[] = [];
  const send = async (): Promise<void> => {
    // Oldest first: the source waits here while the database is behind.
    if (inFlight.length >= depth) await inFlight.shift();
    const rows = batch;
    batch = [];
    const write = insert(rows);
    // Handled where it is awaited (above, or at the end); this only keeps it from counting as unhandled.
    write.catch(() => undefined);
    inFlight.push(write);
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
    while (inFlight.length > 0) await inFlight.shift();
  } catch (error) {
    // Let the batches still being written land first, so that the caller's cleanup removes them too.
    await Promise.allSettled(inFlight);
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
        await writeChunks(
          source,
          (chunks) => insertChunks(database, key, chunks),
          WRITES_IN_FLIGHT[database.kind],
        );
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
