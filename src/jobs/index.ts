/**
 * Background jobs: the public API. Enqueue in the transaction of the write
 * that causes the job; `app.ts` starts and stops the workers.
 *
 * - `recordActivity(trx, userId, kind, details)`: an activity log entry.
 * - `enqueueWelcomeEmail(trx, userId)`: the welcome email of a new account.
 * - `enqueue(trx, kind, payload, opts)`: any job kind in `kinds/index.ts`.
 * - `enqueueAll(trx, [activityJob(…), welcomeEmailJob(…)])`: several in one statement.
 */
export { enqueue, enqueueAll } from './queue.js';
export type { Db, EnqueueOptions, NewJob } from './queue.js';
export { activityJob, recordActivity } from './kinds/activity.js';
export type { ActivityKind } from './kinds/activity.js';
export { enqueueWelcomeEmail, welcomeEmailJob } from './kinds/welcome-email.js';
export { jobHandlers } from './kinds/index.js';
export { backoffMs, createJobRunner } from './runner.js';
export type { JobContext, JobHandler, JobHandlers, JobRunner } from './runner.js';
