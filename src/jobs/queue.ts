/**
 * Enqueueing. A job is a row written with the caller's database handle: pass
 * the transaction of the write that causes the job, and the job commits or
 * rolls back with that write (no job for a user that was never created, no
 * created user without its job).
 */
import { insertJobs } from '../db/repos/jobs.repo.js';
import type { NewJob } from '../db/repos/jobs.repo.js';
import type { Db } from '../db/schema.js';

export type { Db, NewJob };

export interface EnqueueOptions {
  /** Unique when set: enqueueing the same key again adds nothing (returns undefined). */
  readonly key?: string;
  /** Overrides JOBS_MAX_ATTEMPTS for this job. */
  readonly maxAttempts?: number;
  /** Not before this many milliseconds from now. */
  readonly delayMs?: number;
}

/**
 * Adds a job of `kind` (a key of the runner's handlers) with a JSON payload.
 * Returns the job's id, or undefined when `opts.key` was taken.
 * @example await db.transaction().execute(async (trx) => { …write…; await enqueue(trx, 'activity', {…}); });
 */
export async function enqueue(
  db: Db,
  kind: string,
  payload: Readonly<Record<string, unknown>>,
  opts: EnqueueOptions = {},
): Promise<number | undefined> {
  const [id] = await insertJobs(db, [{ kind, payload, ...opts }]);
  return id;
}

/**
 * Adds several jobs in one statement (one round trip), e.g. the jobs of one
 * write; build them with the kinds' job functions. Returns the ids added.
 * @example await enqueueAll(trx, [welcomeEmailJob(user.id), activityJob(user.id, 'user_created', {})]);
 */
export async function enqueueAll(db: Db, jobs: readonly NewJob[]): Promise<number[]> {
  return insertJobs(db, jobs);
}
