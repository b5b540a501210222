/**
 * The embedded database's thread and socket (src/db/embedded.ts,
 * src/db/pglite-wire.ts): several pg connections share one PGlite session by
 * taking turns, a whole transaction at a time. Always PGlite, whatever
 * DATABASE_URL says.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import pg from 'pg';
import { MEMORY_DATA_DIR, openEmbedded } from '../../src/db/embedded.js';
import type { EmbeddedDatabase } from '../../src/db/embedded.js';

const WAIT_TIMEOUT_MS = 1500;

describe('the embedded database thread', function () {
  this.timeout(120_000); // a new PGlite takes 4-8 s here, more on a busy machine

  let embedded: EmbeddedDatabase;
  const clients: pg.Client[] = [];
  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client({ ...embedded.address, user: 'postgres', database: 'postgres' });
    client.on('error', () => undefined);
    clients.push(client);
    await client.connect();
    return client;
  };
  const names = async (client: pg.Client): Promise<string[]> =>
    (await client.query<{ name: string }>('select name from turns order by name')).rows.map((r) => r.name);

  before(async () => {
    embedded = await openEmbedded(MEMORY_DATA_DIR, {
      whenInUse: 'refuse',
      extensions: { pg_trgm: '@electric-sql/pglite/contrib/pg_trgm' },
      waitTimeoutMs: WAIT_TIMEOUT_MS,
    });
    await embedded.ready;
  });
  beforeEach(async () => {
    const client = await connect();
    await client.query('drop table if exists turns; create table turns (name text primary key)');
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.end().catch(() => undefined);
  });
  after(async () => {
    await embedded.close();
  });

  it('answers parameterised queries, reports errors, and goes on after one', async () => {
    const client = await connect();
    const { rows } = await client.query<{ n: number; s: string }>('select $1::int + 1 as n, $2::text as s', [
      41,
      'text',
    ]);
    expect(rows).to.deep.equal([{ n: 42, s: 'text' }]);
    const error = await client.query('select nope').then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    expect(error?.code).to.equal('42703');
    expect((await client.query('select 1 as one')).rows).to.deep.equal([{ one: 1 }]);
  });

  it('carries a message of several MiB, sent in many chunks, and its answer whole', async () => {
    const client = await connect();
    const big = Buffer.alloc(6 * 1024 * 1024, 7);
    big[big.length - 1] = 9;
    const { rows } = await client.query<{ size: number; echo: Buffer }>(
      'select length($1::bytea) as size, $1::bytea as echo',
      [big],
    );
    expect(rows[0]?.size).to.equal(big.length);
    expect(rows[0]?.echo.equals(big)).to.equal(true);
  });

  it("keeps another connection's statement out of an open transaction: it runs after the rollback", async () => {
    const first = await connect();
    const second = await connect();
    await first.query('begin');
    await first.query("insert into turns values ('first')");
    // Sent while the transaction is open; inside it, the rollback would undo it.
    const waiting = second.query("insert into turns values ('second')");
    await sleep(200);
    await first.query('rollback');
    await waiting;
    expect(await names(first)).to.deep.equal(['second']);
  });

  it('rolls back the open transaction of a connection that goes away, and lets the others go on', async () => {
    const first = await connect();
    const second = await connect();
    await first.query('begin');
    await first.query("insert into turns values ('gone')");
    const waiting = second.query('select count(*)::int as n from turns');
    // The connection drops without a word (a killed process).
    (first as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    expect((await waiting).rows).to.deep.equal([{ n: 0 }]);
    expect(await names(second)).to.deep.equal([]);
  });

  it('answers a statement that waited too long for another transaction with an error, and runs the next', async () => {
    const first = await connect();
    const second = await connect();
    await first.query('begin');
    await first.query("insert into turns values ('first')");
    const error = await second.query("insert into turns values ('second')").then(
      () => undefined,
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(error?.code, error?.message).to.equal('55P03');
    // A new connection needs the backend for its startup too: refused the same way.
    const refused = await connect().then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    expect(refused?.code).to.equal('55P03');
    await first.query('commit');
    await second.query("insert into turns values ('third')");
    expect(await names(second)).to.deep.equal(['first', 'third']);
  });

  it('loads the PGlite extensions it is given', async () => {
    const client = await connect();
    await client.query('create extension if not exists pg_trgm');
    const { rows } = await client.query<{ close: boolean }>(
      "select similarity('oak lamp', 'oak lamps') > 0.5 as close",
    );
    expect(rows).to.deep.equal([{ close: true }]);
  });
});
