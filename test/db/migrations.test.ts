import { expect } from 'chai';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { createMigrator, migrateDown, migrateToLatest } from '../../src/db/migrate.js';
import { migrations } from '../../src/db/migrations/index.js';
import type { Database } from '../../src/db/schema.js';
import { resetDatabase, sharedDatabase } from '../helpers/app.js';

// The test run's shared database (PGlite in memory, or DATABASE_URL); left migrated to latest.
describe('db migrations', function () {
  this.timeout(120_000); // a new PGlite takes 4-8 s here

  let db: Kysely<Database>;

  before(async () => {
    db = (await sharedDatabase()).db;
    await resetDatabase();
  });

  after(async () => {
    await migrateToLatest(db);
  });

  async function tableExists(name: string): Promise<boolean> {
    const { rows } = await sql<{ found: string | null }>`select to_regclass(${name}) as found`.execute(db);
    return rows[0]?.found != null;
  }

  async function appliedNames(): Promise<string[]> {
    const all = await createMigrator(db).getMigrations();
    return all.filter((migration) => migration.executedAt !== undefined).map(({ name }) => name);
  }

  it('has a down for every migration', () => {
    for (const [name, migration] of Object.entries(migrations)) {
      expect(typeof migration.down, name).to.equal('function');
    }
  });

  it('runs every migration down, one at a time, then up again', async () => {
    await migrateToLatest(db);
    const names = Object.keys(migrations);
    expect(await appliedNames()).to.deep.equal(names);

    for (const name of [...names].reverse()) {
      const results = await migrateDown(db);
      expect(results.map((r) => [r.migrationName, r.direction, r.status])).to.deep.equal([
        [name, 'Down', 'Success'],
      ]);
    }
    expect(await appliedNames()).to.deep.equal([]);
    expect(await tableExists('public.users')).to.equal(false);

    const results = await migrateToLatest(db);
    expect(results.map((r) => [r.migrationName, r.direction, r.status])).to.deep.equal(
      names.map((name) => [name, 'Up', 'Success']),
    );
    expect(await tableExists('public.users')).to.equal(true);
  });

  it('rejects an email that differs from a stored one only in case', async () => {
    await migrateToLatest(db);
    const user = { full_name: 'Ada', password_hash: 'x' };
    try {
      await db
        .insertInto('users')
        .values({ ...user, email: 'a@x.io' })
        .execute();
      const error: unknown = await db
        .insertInto('users')
        .values({ ...user, email: 'A@x.io' })
        .execute()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).to.include({ code: '23505', constraint: 'users_email_lower_key' });
    } finally {
      await db
        .deleteFrom('users')
        .where(sql`lower(email)`, '=', 'a@x.io')
        .execute();
    }
  });
});
