/** How the database file driver cuts an upload into chunks and writes them: order, bounds, failures. */
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { CHUNK_BYTES, WRITE_BATCH, writeChunks } from '../../src/files/database-storage.js';
import type { Chunk } from '../../src/db/repos/file-chunks.repo.js';

const MiB = 1024 * 1024;

/** `bytes` of a counting pattern, in 64 KiB pieces, recording how much the writer has pulled. */
function source(bytes: number): { stream: Readable; pulled: () => number; whole: Buffer } {
  const whole = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 1) whole[i] = (i * 7) % 251;
  let pulled = 0;
  function* pieces(): Generator<Buffer> {
    for (let at = 0; at < bytes; at += 64 * 1024) {
      const piece = whole.subarray(at, Math.min(bytes, at + 64 * 1024));
      pulled += piece.length;
      yield piece;
    }
  }
  return {
    stream: Readable.from(pieces(), { objectMode: false, highWaterMark: 1 }),
    pulled: () => pulled,
    whole,
  };
}

/** An insert whose batches finish only when the test says so. */
function heldInserts(): {
  insert: (chunks: readonly Chunk[]) => Promise<void>;
  written: Chunk[][];
  open: { release: () => void; fail: (error: Error) => void }[];
  peak: () => number;
} {
  const written: Chunk[][] = [];
  const open: { release: () => void; fail: (error: Error) => void }[] = [];
  let running = 0;
  let peak = 0;
  return {
    written,
    open,
    peak: () => peak,
    insert: (chunks) =>
      new Promise<void>((resolve, reject) => {
        running += 1;
        peak = Math.max(peak, running);
        const entry = {
          release: () => {
            running -= 1;
            written.push([...chunks]);
            resolve();
          },
          fail: (error: Error) => {
            running -= 1;
            reject(error);
          },
        };
        open.push(entry);
      }),
  };
}

const turns = async (n = 20): Promise<void> => {
  for (let i = 0; i < n; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

describe('database file driver: writing chunks', () => {
  it('stores every byte in order, in numbered chunks of CHUNK_BYTES', async () => {
    const { stream, whole } = source(5 * MiB + 12_345);
    const written: Chunk[] = [];
    await writeChunks(
      stream,
      (chunks) => {
        written.push(...chunks);
        return Promise.resolve();
      },
      2,
    );
    written.sort((a, b) => a.seq - b.seq);
    expect(written.map((chunk) => chunk.seq)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(written.slice(0, 5).every((chunk) => chunk.data.length === CHUNK_BYTES)).to.equal(true);
    expect(Buffer.concat(written.map((chunk) => chunk.data)).equals(whole)).to.equal(true);
  });

  it('an empty upload is one empty chunk', async () => {
    const written: Chunk[] = [];
    await writeChunks(
      Readable.from([], { objectMode: false }),
      (chunks) => {
        written.push(...chunks);
        return Promise.resolve();
      },
      2,
    );
    expect(written).to.have.length(1);
    expect(written[0]?.data.length).to.equal(0);
  });

  for (const depth of [1, 2]) {
    it(`keeps ${depth} write(s) in flight and stops reading the upload while they are`, async () => {
      const { stream, pulled } = source(40 * MiB);
      const held = heldInserts();
      const done = writeChunks(stream, held.insert, depth);
      await turns();
      // Every slot is taken, and the next batch is read but waits: nothing more is pulled.
      expect(held.open).to.have.length(depth);
      const batchBytes = WRITE_BATCH * CHUNK_BYTES;
      expect(pulled()).to.be.at.most((depth + 1) * batchBytes + 64 * 1024);
      const before = pulled();
      await turns();
      expect(pulled()).to.equal(before);
      // Let everything through, one batch at a time.
      for (let released = 0; released < held.open.length; released += 1) {
        held.open[released]?.release();
        await turns(5);
      }
      await done;
      expect(held.peak()).to.equal(depth);
      const seqs = held.written.flat().map((chunk) => chunk.seq);
      expect(seqs.sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 40 }, (_, i) => i));
    });
  }

  it('on a failed write, waits for every write still in flight before it throws', async () => {
    const { stream } = source(20 * MiB);
    const held = heldInserts();
    let settled = false;
    const done = writeChunks(stream, held.insert, 2).finally(() => (settled = true));
    done.catch(() => undefined);
    await turns();
    expect(held.open).to.have.length(2);
    held.open[0]?.fail(new Error('disk full'));
    await turns();
    // The second write has not finished: the cleanup after the throw would miss its rows.
    expect(settled).to.equal(false);
    held.open[1]?.release();
    const error = await done.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).to.be.instanceOf(Error).with.property('message', 'disk full');
    expect(held.open).to.have.length(2);
  });
});
