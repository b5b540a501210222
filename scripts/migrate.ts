/**
 * npm run migrate -- latest | down | to <name|none> | list
 * Uses DATABASE_URL / DATA_DIR like the app; exits non-zero on failure.
 */
import type { Kysely, MigrationResult } from 'kysely';
import { loadConfig } from '../src/config.js';
import { createDatabase } from '../src/db/database.js';
import type { Database } from '../src/db/schema.js';
import { createMigrator, migrateDown, migrateTo, migrateToLatest, NO_MIGRATIONS } from '../src/db/migrate.js';

const usage = 'usage: npm run migrate -- latest | down | to <name|none> | list';

function print(results: MigrationResult[]): void {
  if (results.length === 0) console.log('nothing to do');
  for (const { direction, migrationName, status } of results) {
    console.log(`${direction.padEnd(4)} ${migrationName}  ${status}`);
  }
}

async function run(db: Kysely<Database>, args: string[]): Promise<void> {
  const [command, target] = args;
  if (command === 'latest' && args.length === 1) return print(await migrateToLatest(db));
  if (command === 'down' && args.length === 1) return print(await migrateDown(db));
  if (command === 'to' && target !== undefined && args.length === 2) {
    return print(await migrateTo(db, target === 'none' ? NO_MIGRATIONS : target));
  }
  if (command === 'list' && args.length === 1) {
    for (const { name, executedAt } of await createMigrator(db).getMigrations()) {
      console.log(`${executedAt ? executedAt.toISOString() : 'pending'.padEnd(24)}  ${name}`);
    }
    return;
  }
  throw new Error(usage);
}

async function main(args: string[]): Promise<void> {
  const config = loadConfig(process.env);
  // While a server runs on the embedded data directory, this connects to its database.
  const database = await createDatabase(config, undefined, { whenInUse: 'connect' });
  console.log(`database: ${database.kind}${database.kind === 'pglite' ? ` (${config.dataDir})` : ''}`);
  try {
    await run(database.db, args);
  } finally {
    await database.close();
  }
}

const argv = process.argv.slice(2).filter((arg) => arg !== '--');
if (argv.length === 0 || argv.includes('-h') || argv.includes('--help')) {
  console.log(usage);
} else {
  try {
    await main(argv);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
