/**
 * npm run create-admin -- --email admin@example.com --password 'Secret123' [--full-name 'Ada']
 * Creates an admin account, or promotes an existing account with that email
 * (its password is then left as it is). Uses DATABASE_URL / DATA_DIR like the app.
 */
import { parseArgs } from 'node:util';
import { ensureAdmin } from '../src/auth/admin.js';
import { createPasswordHasher } from '../src/auth/passwords.js';
import { loadConfig } from '../src/config.js';
import { loadSpec } from '../src/contract/spec.js';
import { createValidation } from '../src/contract/validation.js';
import { createDatabase } from '../src/db/database.js';
import type { DatabaseHandle } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';

const usage = 'usage: npm run create-admin -- --email EMAIL [--password PASSWORD] [--full-name NAME]';

let values: { email?: string; password?: string; 'full-name'?: string };
try {
  ({ values } = parseArgs({
    options: { email: { type: 'string' }, password: { type: 'string' }, 'full-name': { type: 'string' } },
    strict: true,
  }));
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
if (values.email === undefined) {
  console.error(usage);
  process.exit(2);
}

const config = loadConfig(process.env);
let database: DatabaseHandle;
try {
  // While a server runs on the embedded data directory, this connects to its database.
  database = await createDatabase(config, undefined, { whenInUse: 'connect' });
} catch (error) {
  console.error(`create-admin failed: ${(error as Error).message}`);
  process.exit(1);
}
try {
  await migrateToLatest(database.db);
  const result = await ensureAdmin(
    database.db,
    createPasswordHasher(config.argon2),
    createValidation(loadSpec()),
    {
      email: values.email,
      password: values.password,
      fullName: values['full-name'],
    },
  );
  console.log(`${values.email}: ${result}`);
} catch (error) {
  console.error(`create-admin failed: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await database.close();
}
