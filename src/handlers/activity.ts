/** The activity log of an account (written by background jobs, src/jobs/kinds/activity.ts). */
import type { components } from '../../generated/openapi.js';
import type { Input, Reply } from '../contract/types.js';
import { listActivity } from '../db/repos/activity.repo.js';
import type { ActivityRow } from '../db/schema.js';
import { findUserById } from '../db/repos/users.repo.js';
import type { Deps } from '../deps.js';
import { caller } from './caller.js';

type Activity = components['schemas']['Activity'];
type ActivityKind = components['schemas']['ActivityKind'];

const KINDS: readonly ActivityKind[] = ['user_created', 'login', 'order_placed', 'file_uploaded'];

function activityRowToActivity(row: ActivityRow): Activity {
  // A kind the contract does not know yet would fail response validation: say so in the log instead.
  const kind = KINDS.find((known) => known === row.kind);
  if (kind === undefined) throw new Error(`activity ${row.id} has an unknown kind "${row.kind}"`);
  return { id: row.id, kind, details: row.details, occurred_at: row.occurred_at.toISOString() };
}

export async function listUserActivity(
  input: Input<'listUserActivity'>,
  deps: Deps,
): Promise<Reply<'listUserActivity'>> {
  const me = caller(input.principal);
  const userId = input.path.user_id;
  if (!me.admin && me.id !== userId) throw input.fail(404, 'not-found', 'User not found');
  if (userId !== me.id && (await findUserById(deps.db, userId)) === undefined) {
    throw input.fail(404, 'not-found', 'User not found');
  }
  const skip = input.query.skip ?? 0;
  const limit = input.query.limit ?? 10;
  const { rows, total } = await listActivity(deps.db, { userId, skip, limit });
  return { status: 200, body: { items: rows.map(activityRowToActivity), total, skip, limit } };
}
