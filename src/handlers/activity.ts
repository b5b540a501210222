/** The activity log of an account (written by background jobs, src/jobs/kinds/activity.ts). */
import type { components } from '../../generated/openapi.js';
import type { Input, Reply } from '../contract/types.js';
import { listActivity } from '../db/repos/activity.repo.js';
import type { ActivityPosition } from '../db/repos/activity.repo.js';
import type { ActivityRow } from '../db/schema.js';
import { findUserById } from '../db/repos/users.repo.js';
import type { Deps } from '../deps.js';
import { caller } from './caller.js';
import { listReply, readPaging } from './paging.js';
import type { CursorKey } from './paging.js';

type Activity = components['schemas']['Activity'];

/**
 * The log is ordered by time, then id: its cursor holds both. Times are
 * written from a JS Date, so milliseconds hold them exactly.
 */
const byTimeAndId: CursorKey<ActivityRow, ActivityPosition> = {
  of: (row) => [row.occurred_at.toISOString(), row.id],
  parse: (json) => {
    if (!Array.isArray(json) || json.length !== 2) return undefined;
    const [at, id] = json as unknown[];
    if (typeof at !== 'string' || !Number.isSafeInteger(id) || (id as number) < 1) return undefined;
    const occurredAt = new Date(at);
    return Number.isNaN(occurredAt.getTime()) ? undefined : { occurredAt, id: id as number };
  },
};

// recordActivity types what it writes by kind; a row that says otherwise is a bug, logged as a 500.
function text(row: ActivityRow, key: string): string {
  const value = row.details[key];
  if (typeof value === 'string') return value;
  throw new Error(`activity ${row.id} (${row.kind}): details.${key} is not a string`);
}

function numeric(row: ActivityRow, key: string): number {
  const value = row.details[key];
  if (typeof value === 'number') return value;
  throw new Error(`activity ${row.id} (${row.kind}): details.${key} is not a number`);
}

function activityRowToActivity(row: ActivityRow): Activity {
  const entry = { id: row.id, occurred_at: row.occurred_at.toISOString() };
  switch (row.kind) {
    case 'user_created':
      return { ...entry, kind: 'user_created', details: {} };
    case 'login':
      return { ...entry, kind: 'login', details: { ip: text(row, 'ip') } };
    case 'order_placed':
      return {
        ...entry,
        kind: 'order_placed',
        details: { order_id: numeric(row, 'order_id'), total: numeric(row, 'total') },
      };
    case 'file_uploaded':
      return {
        ...entry,
        kind: 'file_uploaded',
        details: {
          file_id: numeric(row, 'file_id'),
          filename: text(row, 'filename'),
          size: numeric(row, 'size'),
        },
      };
    default:
      // A kind the contract does not know yet would fail response validation: say so in the log instead.
      throw new Error(`activity ${row.id} has an unknown kind "${row.kind}"`);
  }
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
  const scope = { path: `/users/${userId}/activity`, filters: {} };
  const paging = readPaging(deps.config, scope, input.query, byTimeAndId);
  const page = await listActivity(deps.db, { ...paging, userId });
  return listReply(deps.config, scope, paging, page, byTimeAndId, activityRowToActivity);
}
