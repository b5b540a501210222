/**
 * Start-up breakdown: does what src/server.ts does, timing each step with
 * performance.now() (milliseconds since this process started), and prints
 * the phases as one JSON line. Reads the same variables as the server
 * (DATABASE_URL or DATA_DIR, MIGRATE_ON_START, ...).
 *
 * The database is opened and migrated here, through the app's own functions,
 * so those steps are timed on their own; buildApp then gets that database and
 * does everything else it does (validators, auth, HTTP app).
 *
 * With `--ajv-only` it times nothing but a first, cold createValidation: how
 * much of buildApp is Ajv compiling the contract. (Compiling it a second time
 * in the same process is much faster, so it needs a process of its own.)
 *
 * It never falls back to the app's default DATA_DIR (./data in the project):
 * the caller must say which database to use.
 *
 * Only node: builtins, type imports and the package list at the top:
 * everything else is imported dynamically so its loading time is measured
 * rather than hidden in "boot".
 */
import { get } from 'node:http';
import { STARTUP_PACKAGES } from './packages.js';

if (process.env['DATABASE_URL'] === undefined && process.env['DATA_DIR'] === undefined) {
  console.error('startup-probe: set DATABASE_URL or DATA_DIR');
  process.exit(2);
}

if (process.argv.includes('--ajv-only')) {
  const { loadSpec } = await import('../../src/contract/spec.js');
  const { createValidation } = await import('../../src/contract/validation.js');
  const spec = loadSpec();
  const started = performance.now();
  createValidation(spec);
  process.stdout.write(`${JSON.stringify({ ajvColdMs: performance.now() - started })}\n`);
  process.exit(0);
}

const booted = performance.now();
const phases: [string, number][] = [['node boot + tsx loader + this script', booted]];
let last = booted;
function mark(phase: string): void {
  const now = performance.now();
  phases.push([phase, now - last]);
  last = now;
}

for (const name of STARTUP_PACKAGES) {
  await import(name);
  mark(`import ${name}`);
}
const { buildApp } = await import('../../src/app.js');
const { loadConfig } = await import('../../src/config.js');
const { createDatabase } = await import('../../src/db/database.js');
const { migrateToLatest } = await import('../../src/db/migrate.js');
const { loadSpec } = await import('../../src/contract/spec.js');
const { pino } = await import('pino');
mark('import src/ (our modules and the rest of the graph)');

const config = loadConfig(process.env);
const log = pino({ level: config.logLevel }, pino.destination({ dest: '/dev/null' }));
mark('loadConfig + logger');
const database = await createDatabase(config, log);
mark(
  config.databaseUrl === undefined
    ? 'createDatabase (PGlite open)'
    : 'createDatabase (pg pool, no connection yet)',
);
if (config.migrateOnStart) {
  await migrateToLatest(database.db);
  mark('migrateToLatest (incl. the first connection and query)');
}
const spec = loadSpec();
mark('loadSpec (read + index generated/openapi.json)');
const app = await buildApp({ ...config, migrateOnStart: false }, { database, spec, log });
mark('buildApp, given database + spec (validators, auth, HTTP app)');
const { port } = await app.listen(0, '127.0.0.1');
mark('listen');
const status = await new Promise<number | undefined>((resolve, reject) => {
  get({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode));
  }).on('error', reject);
});
mark(`first GET /health (${status ?? '?'})`);
process.stdout.write(`${JSON.stringify({ phases, total: performance.now() })}\n`);
await app.close();
await database.close();
