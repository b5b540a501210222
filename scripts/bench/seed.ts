/**
 * Seeds the database of the database sections, once per database, through the
 * app's own code: migrations, then one account (argon2id hash with the
 * configured cost, as sign-up makes it) owning ITEMS catalogue items made in
 * one `insert … select from generate_series`. Prints the facts the parent
 * needs as one JSON line (`Seeded`).
 *
 * Names are "<adjective> <noun>" from ten of each, picked independently, so
 * SEARCH ("oak lamp") matches one item in a hundred, like a shop search.
 *
 * The database is the one benchAppEnv() picks: BENCH_DATABASE_URL or BENCH_DATA_DIR.
 */
import { sql } from 'kysely';
import { createPasswordHasher } from '../../src/auth/passwords.js';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { listItems } from '../../src/db/repos/items.repo.js';
import { insertUser } from '../../src/db/repos/users.repo.js';
import { benchAppEnv } from './serve.js';

const ITEMS = 100_000;
const SEARCH = 'oak lamp';
/** Distinct items in each benchmarked order. */
const ORDER_LINES = 5;

export interface Seeded {
  readonly userId: number;
  readonly email: string;
  readonly password: string;
  readonly items: number;
  /** A search (`q`) and how many items match it (name or description). */
  readonly search: string;
  readonly matches: number;
  readonly orderItemIds: readonly number[];
  readonly ms: number;
}

const ADJECTIVES = ['oak', 'brass', 'linen', 'steel', 'walnut', 'copper', 'wool', 'glass', 'cedar', 'slate'];
const NOUNS = ['lamp', 'chair', 'table', 'shelf', 'mirror', 'clock', 'rug', 'vase', 'bench', 'desk'];
const COLOURS = ['red', 'green', 'blue', 'black', 'white', 'grey', 'amber'];

const started = performance.now();
const config = loadConfig(benchAppEnv());
const database = await createDatabase(config);
try {
  const { db } = database;
  await migrateToLatest(db);
  const email = 'bench@example.com';
  const password = 'Bench-password-1';
  const user = await insertUser(db, {
    email,
    full_name: 'Bench Mark',
    age: 40,
    username: 'bench',
    phone: null,
    role: 'user',
    password_hash: await createPasswordHasher(config.argon2).hash(password),
  });
  await sql`
    insert into items (owner_id, name, description, price, tax)
    select ${user.id},
           initcap((${ADJECTIVES}::text[])[1 + g % 10] || ' ' || (${NOUNS}::text[])[1 + (g / 10) % 10]),
           'Model ' || g || ', ' || (${COLOURS}::text[])[1 + g % 7] || ' finish, ships in '
             || (1 + g % 5) || ' days',
           (0.99 + (g * 7919) % 50000 / 100.0)::numeric(12,2),
           case when g % 4 = 0 then null else (0.05 * (1 + g % 3))::numeric(5,4) end
    from generate_series(1, ${ITEMS}) as g`.execute(db);
  // As autovacuum would soon: planner statistics, and no vacuum starting mid-run.
  await sql`vacuum analyze items`.execute(db);
  const { total } = await listItems(db, { skip: 0, limit: 1, q: SEARCH });
  const ordered = await db.selectFrom('items').select('id').orderBy('id').limit(ORDER_LINES).execute();
  const seeded: Seeded = {
    userId: user.id,
    email,
    password,
    items: ITEMS,
    search: SEARCH,
    matches: total,
    orderItemIds: ordered.map((row) => row.id),
    ms: performance.now() - started,
  };
  process.stdout.write(`${JSON.stringify(seeded)}\n`);
} finally {
  await database.close();
}
