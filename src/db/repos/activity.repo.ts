/** The activity log: written by the `activity` job, read by GET /users/{user_id}/activity. */
import { sql } from 'kysely';
import type { ActivityRow, Db } from '../schema.js';
import { fetchPage } from './paging.js';
import type { Page, PageRequest } from './paging.js';

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

/** Where a page of activity starts: after the entry at (occurredAt, id) in newest-first order. */
export interface ActivityPosition {
  readonly occurredAt: Date;
  readonly id: number;
}

/** One user's entries, newest first (ties by id), after `after` when given. */
export async function listActivity(
  db: Db,
  page: PageRequest & { userId: number; after?: ActivityPosition | undefined },
): Promise<Page<ActivityRow>> {
  const matching = db.selectFrom('activity').where('user_id', '=', page.userId);
  let rows = matching.selectAll().orderBy('occurred_at', 'desc').orderBy('id', 'desc');
  if (page.after !== undefined) {
    // A row comparison, answered from activity_user_occurred_idx.
    rows = rows.where(
      sql`(occurred_at, id)`,
      '<',
      sql`(${page.after.occurredAt}::timestamptz, ${page.after.id})`,
    );
  }
  return fetchPage(db, rows, matching, page);
}
