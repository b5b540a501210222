import { expect } from 'chai';
import { sql } from 'kysely';
import type pg from 'pg';
import { kyselyPool } from '../../src/db/kysely-pool.js';
import { sharedDatabase } from '../helpers/app.js';

async function expectRejection(promise: Promise<unknown>, message: string): Promise<void> {
  let caught: unknown;
  await promise.catch((error: unknown) => {
    caught = error;
  });
  expect((caught as Error | undefined)?.message).to.equal(message);
}

type Callback = (error: Error | undefined, result?: unknown) => void;

/** A pg pool stand-in that records how its one client is used. */
function stubPool(answer: (sql: string) => { error?: Error; result?: unknown }) {
  const calls: { sql: string; parameters: unknown; callback: boolean }[] = [];
  const releases: (boolean | undefined)[] = [];
  const client = {
    query(text: string, parameters: unknown, callback?: Callback) {
      calls.push({ sql: text, parameters, callback: typeof callback === 'function' });
      if (typeof callback !== 'function') throw new Error('the promise API was used');
      const { error, result } = answer(text);
      setImmediate(() => {
        callback(error, result);
      });
    },
    release(destroy?: boolean) {
      releases.push(destroy);
    },
  };
  let ended = false;
  const pool = {
    connect: () => Promise.resolve(client),
    end: () => {
      ended = true;
      return Promise.resolve();
    },
  };
  return { pool: pool as unknown as pg.Pool, client, calls, releases, ended: () => ended };
}

describe('the pool Kysely queries through', () => {
  it("sends each query with pg's callback API and resolves with pg's result", async () => {
    const result = { command: 'SELECT', rowCount: 1, rows: [{ n: 1 }] };
    const stub = stubPool(() => ({ result }));
    const client = await kyselyPool(stub.pool).connect();
    expect(await client.query('select $1::int as n', [1])).to.equal(result);
    expect(stub.calls).to.deep.equal([{ sql: 'select $1::int as n', parameters: [1], callback: true }]);
  });

  it("rejects with pg's own error", async () => {
    const failure = Object.assign(new Error('division by zero'), { code: '22012' });
    const stub = stubPool(() => ({ error: failure }));
    const client = await kyselyPool(stub.pool).connect();
    let caught: unknown;
    await client.query('select 1/0', []).catch((error: unknown) => {
      caught = error;
    });
    expect(caught).to.equal(failure);
  });

  it('gives one wrapper per pg client, and passes release and end through', async () => {
    const stub = stubPool(() => ({ result: { command: 'SELECT', rowCount: 0, rows: [] } }));
    const pool = kyselyPool(stub.pool);
    const first = await pool.connect();
    first.release();
    const second = await pool.connect();
    second.release(true);
    expect(second).to.equal(first);
    expect(stub.releases).to.deep.equal([undefined, true]);
    await pool.end();
    expect(stub.ended()).to.equal(true);
  });

  describe('on the test database', () => {
    it("returns values parsed as pg parses them, and pg's SQLSTATE on failure", async () => {
      const { db } = await sharedDatabase();
      const { rows } = await sql<{
        n: number;
        at: Date;
      }>`select 41 + 1 as n, timestamptz '2026-01-02T03:04:05Z' as at`.execute(db);
      expect(rows[0]?.n).to.equal(42);
      expect(rows[0]?.at).to.be.instanceOf(Date);
      expect(rows[0]?.at.toISOString()).to.equal('2026-01-02T03:04:05.000Z');
      let code: unknown;
      await sql`select 1 / 0`.execute(db).catch((error: unknown) => {
        code = (error as { code?: unknown }).code;
      });
      expect(code).to.equal('22012');
    });

    it('commits a transaction, and rolls back one that throws', async () => {
      const { db } = await sharedDatabase();
      // A temporary table belongs to one connection: the whole check runs on one.
      await db.connection().execute(async (conn) => {
        await sql`create temporary table pool_probe (n int)`.execute(conn);
        try {
          await conn.transaction().execute(async (trx) => {
            await sql`insert into pool_probe values (1)`.execute(trx);
          });
          const abandoned = conn.transaction().execute(async (trx) => {
            await sql`insert into pool_probe values (2)`.execute(trx);
            throw new Error('abandon');
          });
          await expectRejection(abandoned, 'abandon');
          const { rows } = await sql<{ n: number }>`select n from pool_probe`.execute(conn);
          expect(rows.map((row) => row.n)).to.deep.equal([1]);
        } finally {
          await sql`drop table pool_probe`.execute(conn);
        }
      });
    });
  });
});
