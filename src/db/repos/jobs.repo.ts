/**
 * The job queue's SQL. Claims are one UPDATE over a `FOR UPDATE SKIP LOCKED`
 * subquery (a short transaction of its own), so any number of workers in any
 * number of processes take disjoint jobs. Every later write about a claimed
 * job names the attempt it claimed: a worker whose lease ran out (and whose job
 * someone else took) changes nothing.
 */
import { sql } from 'kysely';
import type { Db, JobRow, JobStatus } from '../schema.js';

export interface NewJob {
  readonly kind: string;
  readonly payload: Readonly<Record<string, unknown>>;
  /** Unique when set: a second job with the same key is not added. */
  readonly key?: string;
  /** Overrides the workers' JOBS_MAX_ATTEMPTS for this job. */
  readonly maxAttempts?: number;
  /** Not before this many milliseconds from now. */
  readonly delayMs?: number;
}

/**
 * Adds jobs in one statement; the ids of those added (a job whose key exists
 * already is not added).
 */
export async function insertJobs(db: Db, jobs: readonly NewJob[]): Promise<number[]> {
  if (jobs.length === 0) return [];
  const rows = await db
    .insertInto('jobs')
    .values(
      jobs.map((job) => ({
        kind: job.kind,
        payload: JSON.stringify(job.payload),
        key: job.key ?? null,
        max_attempts: job.maxAttempts ?? null,
        run_at: sql<Date>`now() + ${job.delayMs ?? 0} * interval '1 millisecond'`,
      })),
    )
    .onConflict((oc) => oc.column('key').doNothing())
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
}

/** The claim: whose it is, for how long, and the attempt number written on it. */
export interface Claim {
  readonly workerId: string;
  readonly limit: number;
  readonly leaseMs: number;
  readonly defaultMaxAttempts: number;
}

/**
 * Takes up to `limit` due jobs (queued and due, or running with a lease that
 * ran out) that have attempts left, oldest due first, and leases them.
 */
export async function claimJobs(db: Db, claim: Claim): Promise<JobRow[]> {
  const { rows } = await sql<JobRow>`
    update jobs
    set status = 'running', attempts = attempts + 1, locked_by = ${claim.workerId},
        run_at = now() + ${claim.leaseMs} * interval '1 millisecond', updated_at = now()
    where id in (
      select id from jobs
      where status in ('queued', 'running') and run_at <= now()
        and attempts < coalesce(max_attempts, ${claim.defaultMaxAttempts})
      order by run_at, id
      limit ${claim.limit}
      for update skip locked)
    returning *`.execute(db);
  return rows;
}

/**
 * Jobs whose last attempt was lost (lease ran out) with no attempts left:
 * kept as failed, so they stop being looked at. Returns how many.
 */
export async function failExhausted(db: Db, defaultMaxAttempts: number): Promise<number> {
  const result = await sql`
    update jobs
    set status = 'failed', finished_at = now(), updated_at = now(), locked_by = null,
        last_error = case when status = 'running'
          then 'lease expired: the process running attempt ' || attempts || ' stopped or took too long'
          else coalesce(last_error, 'no attempts left') end
    where id in (
      select id from jobs
      where status in ('queued', 'running') and run_at <= now()
        and attempts >= coalesce(max_attempts, ${defaultMaxAttempts})
      for update skip locked)`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

/** The attempt a worker holds; every write below is a no-op if it no longer holds it. */
export interface Held {
  readonly id: number;
  readonly attempts: number;
  readonly workerId: string;
}

function held(db: Db, job: Held) {
  return db
    .updateTable('jobs')
    .where('id', '=', job.id)
    .where('status', '=', 'running')
    .where('attempts', '=', job.attempts)
    .where('locked_by', '=', job.workerId);
}

/** Marks the held attempt succeeded; false when the lease had been lost. */
export async function completeJob(db: Db, job: Held): Promise<boolean> {
  const result = await held(db, job)
    .set({ status: 'succeeded', finished_at: sql`now()`, updated_at: sql`now()`, locked_by: null })
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Puts the job back in the queue, due after `delayMs`, remembering the error. */
export async function retryJob(db: Db, job: Held, error: string, delayMs: number): Promise<boolean> {
  const result = await held(db, job)
    .set({
      status: 'queued',
      last_error: error,
      locked_by: null,
      run_at: sql`now() + ${delayMs} * interval '1 millisecond'`,
      updated_at: sql`now()`,
    })
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Keeps the job as failed with its last error (no attempts left). */
export async function failJob(db: Db, job: Held, error: string): Promise<boolean> {
  const result = await held(db, job)
    .set({
      status: 'failed',
      last_error: error,
      locked_by: null,
      finished_at: sql`now()`,
      updated_at: sql`now()`,
    })
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Deletes succeeded jobs finished more than `hours` ago; returns how many. */
export async function pruneSucceeded(db: Db, hours: number): Promise<number> {
  const result = await db
    .deleteFrom('jobs')
    .where('status', '=', 'succeeded')
    .where('finished_at', '<', sql<Date>`now() - ${hours} * interval '1 hour'`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function findJob(db: Db, id: number): Promise<JobRow | undefined> {
  return db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Jobs by status (for tests, benchmarks and operators). */
export async function countJobs(db: Db): Promise<Record<JobStatus, number>> {
  const rows = await db
    .selectFrom('jobs')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status')
    .execute();
  const counts: Record<JobStatus, number> = { queued: 0, running: 0, succeeded: 0, failed: 0 };
  for (const row of rows) counts[row.status] = Number(row.n);
  return counts;
}

// Side effects the jobs record, so a re-run does not repeat them.

/** True when an email with this key was sent already. */
export async function emailWasSent(db: Db, key: string): Promise<boolean> {
  const row = await db.selectFrom('sent_emails').select('key').where('key', '=', key).executeTakeFirst();
  return row !== undefined;
}

/** Remembers that the email with this key was sent. */
export async function recordEmailSent(db: Db, key: string, recipient: string, jobId: number): Promise<void> {
  await db
    .insertInto('sent_emails')
    .values({ key, recipient, job_id: jobId })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
}
