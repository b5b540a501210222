/**
 * The real app (buildApp) serving a synthetic contract of N operations:
 *   tsx scripts/bench/synthetic-app.ts 200
 * Same logging and database arrangement as pipeline-app.ts.
 */
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { indexDocument } from '../../src/contract/spec.js';
import { benchAppEnv, devNullLog, exitOnSignal, listenAndAnnounce } from './serve.js';
import { syntheticDocument, syntheticHandlers } from './synthetic-spec.js';

const operations = Number(process.argv[2]);
if (!Number.isInteger(operations) || operations < 1) {
  console.error('usage: synthetic-app.ts <number of operations>');
  process.exit(2);
}

const config = loadConfig(benchAppEnv());
const spec = indexDocument(syntheticDocument(operations));
const app = await buildApp(config, {
  spec,
  handlers: syntheticHandlers(operations),
  security: {},
  logDestination: devNullLog(),
});
exitOnSignal(() => app.close());
await listenAndAnnounce(app.server, {
  server: `synthetic-${operations}`,
  operations: spec.operations.length,
});
