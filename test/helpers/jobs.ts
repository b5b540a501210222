/** Background-job helpers for tests: waiting on the queue, and standalone runners on the shared database. */
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { countJobs } from '../../src/db/repos/jobs.repo.js';
import type { JobStatus } from '../../src/db/schema.js';
import { createJobRunner } from '../../src/jobs/index.js';
import type { JobHandlers, JobRunner } from '../../src/jobs/index.js';
import type { Mail, Mailer } from '../../src/mail/mailer.js';
import { sharedDatabase } from './app.js';

/** Polls `check` until it returns true; throws with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Waits until no job is queued or running. */
export async function waitForIdleQueue(timeoutMs = 15_000): Promise<Record<JobStatus, number>> {
  const { db } = await sharedDatabase();
  let counts = await countJobs(db);
  await waitFor(
    'the queue to drain',
    async () => {
      counts = await countJobs(db);
      return counts.queued === 0 && counts.running === 0;
    },
    timeoutMs,
  );
  return counts;
}

/** A mailer that keeps what it was asked to send. */
export function capturingMailer(): Mailer & { readonly sent: Mail[] } {
  const sent: Mail[] = [];
  return {
    sent,
    async send(mail) {
      sent.push(mail);
    },
    close() {},
  };
}

/** Fast settings for tests: short polls, short backoff. */
export const FAST_JOBS = {
  JOBS_POLL_INTERVAL_MS: '20',
  JOBS_BACKOFF_BASE_MS: '10',
  JOBS_BACKOFF_MAX_MS: '50',
} as const;

/** A runner on the shared database with `handlers`, settings from `env` over FAST_JOBS. */
export async function testRunner(
  handlers: JobHandlers,
  env: Record<string, string> = {},
  mailer: Mailer = capturingMailer(),
): Promise<JobRunner> {
  const { db } = await sharedDatabase();
  const config = loadConfig({ ...FAST_JOBS, ...env });
  return createJobRunner({ db, log: pino({ level: 'silent' }), mailer, config: config.jobs, handlers });
}
