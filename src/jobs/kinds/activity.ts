/**
 * The `activity` job: one entry of a user's activity log
 * (GET /users/{user_id}/activity). Idempotent: the entry is keyed by the job's
 * id, so a re-run adds nothing.
 */
import type { components } from '../../../generated/openapi.js';
import { insertActivity } from '../../db/repos/activity.repo.js';
import type { Db, NewJob } from '../queue.js';
import { enqueueAll } from '../queue.js';
import type { JobHandler } from '../runner.js';

export const ACTIVITY = 'activity';

type Activity = components['schemas']['Activity'];

/** What happened: the `kind` of the contract's Activity variants. */
export type ActivityKind = Activity['kind'];

/** The `details` the contract declares for an entry of `kind`. */
export type ActivityDetails<K extends ActivityKind> = Extract<Activity, { kind: K }>['details'];

/**
 * Appends an entry to the user's activity log, as a job in the caller's
 * transaction: the entry appears if and only if that transaction commits.
 * `details` is what the contract declares for `kind` (ids, names; never secrets).
 * Its time is the transaction's, not the time the job ran.
 * @example await recordActivity(trx, order.user_id, 'order_placed', { order_id: order.id, total: 131.78 });
 */
export async function recordActivity<K extends ActivityKind>(
  trx: Db,
  userId: number,
  kind: K,
  details: ActivityDetails<K>,
): Promise<void> {
  await enqueueAll(trx, [activityJob(userId, kind, details)]);
}

/** The job recordActivity enqueues, for enqueueAll with other jobs of the same write. */
export function activityJob<K extends ActivityKind>(
  userId: number,
  kind: K,
  details: ActivityDetails<K>,
): NewJob {
  return { kind: ACTIVITY, payload: { user_id: userId, kind, details } };
}

export const writeActivity: JobHandler = async (payload, { job, db, log }) => {
  const { user_id: userId, kind, details } = payload;
  if (
    typeof userId !== 'number' ||
    typeof kind !== 'string' ||
    typeof details !== 'object' ||
    details === null
  ) {
    throw new Error('activity job: payload needs user_id, kind and details');
  }
  const added = await insertActivity(db, {
    userId,
    kind,
    details: details as Record<string, unknown>,
    occurredAt: job.created_at,
    jobId: job.id,
  });
  if (!added) log.debug({ jobId: job.id, userId }, 'activity: already written, or the user is gone');
};
