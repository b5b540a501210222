/**
 * A job-worker process for the jobs benchmark: the app's own runner and job
 * kinds on BENCH_DATABASE_URL, no HTTP. Prints {"ready":true} once it polls;
 * SIGTERM stops it the way the app stops its workers.
 */
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/db/database.js';
import { createJobRunner, jobHandlers } from '../../src/jobs/index.js';
import { createMailer } from '../../src/mail/mailer.js';

const config = loadConfig({
  DATABASE_URL: process.env['BENCH_DATABASE_URL'],
  JOBS_CONCURRENCY: process.env['BENCH_JOBS_CONCURRENCY'] ?? '8',
  JOBS_POLL_INTERVAL_MS: '50',
  DB_POOL_MAX: '10',
});
const log = pino({ level: 'silent' });
const database = await createDatabase(config);
const mailer = createMailer(config.mail, log);
const runner = createJobRunner({ db: database.db, log, mailer, config: config.jobs, handlers: jobHandlers });
runner.start();
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);

const stop = (): void => {
  void runner
    .stop()
    .then(() => database.close())
    .finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
