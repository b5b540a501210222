/** The activity log: written by the `activity` job, read by GET /users/{user_id}/activity. */
import { sql } from 'kysely';
import type { ActivityRow, Db } from '../schema.js';

export interface NewActivity {
  readonly userId: number;
  readonly kind: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly occurredAt: Date;
  readonly jobId: number;
}

/**
 * Writes the entry unless this job already did (unique job_id) or the user is
 * gone (deleted since); true when a row was added.
 */
export async function insertActivity(db: Db, entry: NewActivity): Promise<boolean> {
  const result = await sql`
    insert into activity (user_id, kind, details, occurred_at, job_id)
    select ${entry.userId}, ${entry.kind}, ${JSON.stringify(entry.details)}::jsonb, ${entry.occurredAt}, ${entry.jobId}
    where exists (select 1 from users where id = ${entry.userId})
    on conflict (job_id) do nothing`.execute(db);
  return Number(result.numAffectedRows ?? 0n) > 0;
}

/** Newest first, with the total over all pages. */
export async function listActivity(
  db: Db,
  page: { userId: number; skip: number; limit: number },
): Promise<{ rows: ActivityRow[]; total: number }> {
  const [rows, count] = await Promise.all([
    db
      .selectFrom('activity')
      .selectAll()
      .where('user_id', '=', page.userId)
      .orderBy('occurred_at', 'desc')
      .orderBy('id', 'desc')
      .offset(page.skip)
      .limit(page.limit)
      .execute(),
    db
      .selectFrom('activity')
      .select((eb) => eb.fn.countAll<number>().as('total'))
      .where('user_id', '=', page.userId)
      .executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.total) };
}
