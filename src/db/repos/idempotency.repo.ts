/**
 * Idempotency keys, scoped per user. Claiming a key is an insert in the
 * caller's transaction: a concurrent request with the same key waits on it
 * (Postgres blocks the conflicting insert until the first transaction ends),
 * then finds the stored response; if the first transaction rolled back, the
 * second claims the key itself.
 */
import { sql } from 'kysely';
import type { Trx } from '../schema.js';

export interface StoredResponse {
  readonly requestHash: string;
  readonly status: number | null;
  readonly response: unknown;
}

/** True when this transaction now owns the key; expired keys are claimed afresh. */
export async function claimKey(
  trx: Trx,
  claim: { userId: number; key: string; requestHash: string; ttlSeconds: number },
): Promise<boolean> {
  await trx
    .deleteFrom('idempotency_keys')
    .where('user_id', '=', claim.userId)
    .where('key', '=', claim.key)
    .where('expires_at', '<=', sql<Date>`now()`)
    .execute();
  const inserted = await trx
    .insertInto('idempotency_keys')
    .values({
      user_id: claim.userId,
      key: claim.key,
      request_hash: claim.requestHash,
      expires_at: sql<Date>`now() + make_interval(secs => ${claim.ttlSeconds})`,
    })
    .onConflict((oc) => oc.columns(['user_id', 'key']).doNothing())
    .returning('key')
    .executeTakeFirst();
  return inserted !== undefined;
}

export async function storedResponse(
  trx: Trx,
  userId: number,
  key: string,
): Promise<StoredResponse | undefined> {
  const row = await trx
    .selectFrom('idempotency_keys')
    .select(['request_hash', 'status', 'response'])
    .where('user_id', '=', userId)
    .where('key', '=', key)
    .executeTakeFirst();
  return row === undefined
    ? undefined
    : { requestHash: row.request_hash, status: row.status, response: row.response };
}

export async function storeResponse(
  trx: Trx,
  userId: number,
  key: string,
  status: number,
  response: unknown,
): Promise<void> {
  await trx
    .updateTable('idempotency_keys')
    .set({ status, response: JSON.stringify(response) })
    .where('user_id', '=', userId)
    .where('key', '=', key)
    .execute();
}
