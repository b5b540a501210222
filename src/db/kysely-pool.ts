/**
 * The pg pool as Kysely's PostgresDialect sees it, with each query sent
 * through pg's callback API and answered by one promise of our own.
 *
 * Given a pg.Pool, Kysely sends its queries with `client.query(sql, values)`,
 * pg's promise API. In a process holding about 15 MB or more of long-lived
 * objects (the app, once its validators and pools are built), a
 * request that waited on that promise is still reachable at the next young
 * collection: about a megabyte survives each scavenge and is promoted, the old
 * generation fills up and is compacted about once a second, and each scavenge
 * takes three times as long. With the callback API and a plain promise the
 * same requests die young (docs/benchmarks.md, "Where the size of the process
 * went").
 *
 * Everything else is pg's: the pool, its clients, checkout and release,
 * errors (a failed query rejects with pg's error; Kysely adds the caller's
 * stack to it). Kysely's other form of `query`, with a cursor, is used only
 * for streaming, which needs a `cursor` class in the dialect's config; the app
 * sets none, so Kysely refuses to stream before it gets here.
 */
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';

/** One wrapper per pg client, made on its first checkout. */
const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();

function wrap(client: pg.PoolClient): PostgresPoolClient {
  let wrapper = wrappers.get(client);
  if (wrapper === undefined) {
    wrapper = {
      query<R>(sql: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>> {
        return new Promise((resolve, reject) => {
          client.query(sql, parameters as unknown[], (error: Error | undefined, result: pg.QueryResult) => {
            if (error) reject(error);
            else resolve(result as unknown as PostgresQueryResult<R>);
          });
        });
      },
      release(destroy?: boolean) {
        client.release(destroy);
      },
    } as PostgresPoolClient;
    wrappers.set(client, wrapper);
  }
  return wrapper;
}

/** `pool` for Kysely's PostgresDialect: the same pg pool, queries sent with callbacks. */
export function kyselyPool(pool: pg.Pool): PostgresPool {
  return {
    async connect() {
      return wrap(await pool.connect());
    },
    end() {
      return pool.end();
    },
  };
}
