/**
 * Compile-only checks that activity entries are typed by their `kind`, both
 * as the contract answers them and as recordActivity writes them: each
 * `@ts-expect-error` below must be an error for `tsc --noEmit` to pass.
 */
import type { components } from '../../generated/openapi.js';
import { activityJob } from '../../src/jobs/index.js';

type Activity = components['schemas']['Activity'];

// Narrowing on `kind` gives that kind's details, fully typed.
export function orderOf(entry: Activity): number | undefined {
  return entry.kind === 'order_placed' ? entry.details.order_id : undefined;
}

export function loginOrder(entry: Extract<Activity, { kind: 'login' }>): unknown {
  // @ts-expect-error only an order_placed entry has an order_id
  return entry.details.order_id;
}

export const placed = activityJob(1, 'order_placed', { order_id: 1, total: 131.78 });

// @ts-expect-error a login entry's details carry the client address
export const noIp = activityJob(1, 'login', {});

// @ts-expect-error an order_placed entry's details are the order's id and its total
export const noTotal = activityJob(1, 'order_placed', { order_id: 1 });

// @ts-expect-error a sign-up entry has no details
export const extra = activityJob(1, 'user_created', { ip: '203.0.113.7' });
