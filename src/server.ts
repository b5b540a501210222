/** Entry point: config → app → listen; SIGTERM/SIGINT → drain → exit 0. */
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  // Listen at once; the database opens and migrates meanwhile (liveness answers,
  // readiness is 503 and queries wait until then).
  const app = await buildApp(config, { waitUntilReady: false });
  const address = await app.listen();
  app.deps.log.info({ address: `http://${address.address}:${address.port}` }, 'listening');
  app.ready.catch((error: unknown) => {
    app.deps.log.fatal({ err: error }, 'the database could not be opened or migrated');
    void app.close().finally(() => process.exit(1));
  });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    app.deps.log.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.deps.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
