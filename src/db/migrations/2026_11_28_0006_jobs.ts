import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * The durable job queue, the activity log the jobs write, and the record of
 * emails sent (so a re-run job does not send twice).
 *
 * jobs.run_at is "may be claimed from": for a queued job its due time (now,
 * or later after a failure: backoff), for a running one the end of its lease.
 * A running job whose lease has passed was lost with its process and is
 * claimed again, so one partial index serves every claim.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('payload', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('status', 'text', (col) =>
      col
        .notNull()
        .defaultTo('queued')
        .check(sql`status in ('queued', 'running', 'succeeded', 'failed')`),
    )
    // Unique when set: enqueueing the same key twice adds one job.
    .addColumn('key', 'text', (col) => col.unique())
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    // Null: the worker's JOBS_MAX_ATTEMPTS.
    .addColumn('max_attempts', 'integer', (col) => col.check(sql`max_attempts >= 1`))
    .addColumn('run_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('locked_by', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await sql`create index jobs_due_idx on jobs (run_at, id) where status in ('queued', 'running')`.execute(db);
  await sql`create index jobs_finished_idx on jobs (finished_at) where status = 'succeeded'`.execute(db);

  await db.schema
    .createTable('activity')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('user_id', 'bigint', (col) => col.notNull().references('users.id').onDelete('cascade'))
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('details', 'jsonb', (col) => col.notNull().defaultTo(sql`'{}'::jsonb`))
    // When it happened (the enqueueing transaction's time), not when the job ran.
    .addColumn('occurred_at', 'timestamptz', (col) => col.notNull())
    // The job that wrote it: a re-run of that job adds nothing (no foreign key: jobs are pruned).
    .addColumn('job_id', 'bigint', (col) => col.notNull().unique())
    .execute();
  await db.schema
    .createIndex('activity_user_occurred_idx')
    .on('activity')
    .columns(['user_id', 'occurred_at desc', 'id desc'])
    .execute();

  await db.schema
    .createTable('sent_emails')
    // e.g. `welcome:<user id>`: one welcome email per account, whichever job sends it.
    .addColumn('key', 'text', (col) => col.primaryKey())
    .addColumn('recipient', 'text', (col) => col.notNull())
    .addColumn('job_id', 'bigint')
    .addColumn('sent_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sent_emails').execute();
  await db.schema.dropTable('activity').execute();
  await db.schema.dropTable('jobs').execute();
}
