/**
 * Kysely Migrator over the static migration list. Unlike Migrator's own
 * methods, these throw, naming the migration that failed.
 */
import { inspect } from 'node:util';
import { Migrator, NO_MIGRATIONS } from 'kysely';
import type { Kysely, MigrationResult, MigrationResultSet } from 'kysely';
import { migrations } from './migrations/index.js';

export { NO_MIGRATIONS };

export function createMigrator<DB>(db: Kysely<DB>): Migrator {
  return new Migrator({ db, provider: { getMigrations: () => Promise.resolve({ ...migrations }) } });
}

/** Applies every pending migration; returns what ran. */
export async function migrateToLatest<DB>(db: Kysely<DB>): Promise<MigrationResult[]> {
  return unwrap(await createMigrator(db).migrateToLatest(), 'up to latest');
}

/** Reverts the last applied migration. */
export async function migrateDown<DB>(db: Kysely<DB>): Promise<MigrationResult[]> {
  return unwrap(await createMigrator(db).migrateDown(), 'down one step');
}

/** Migrates up or down until `name` is the last applied; NO_MIGRATIONS reverts all. */
export async function migrateTo<DB>(
  db: Kysely<DB>,
  name: string | typeof NO_MIGRATIONS,
): Promise<MigrationResult[]> {
  const target = typeof name === 'string' ? name : 'no migrations';
  return unwrap(await createMigrator(db).migrateTo(name), `to ${target}`);
}

function unwrap({ error, results = [] }: MigrationResultSet, what: string): MigrationResult[] {
  if (error === undefined) return [...results];
  const failed = results.find((result) => result.status === 'Error');
  const cause = error instanceof Error ? error.message : inspect(error);
  const where = failed ? `migration ${failed.migrationName} (${failed.direction}) failed` : 'failed';
  throw new Error(`Migrating ${what}: ${where}: ${cause}`, { cause: error });
}
