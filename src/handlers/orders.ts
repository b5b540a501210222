/**
 * Handlers for the `orders` tag. An order is placed in one transaction: the
 * items are locked, their prices and tax copied into the lines, the amounts
 * computed in SQL; an Idempotency-Key is claimed in the same transaction.
 */
import { createHash } from 'node:crypto';
import type { components } from '../../generated/openapi.js';
import { violationsOf } from '../contract/errors.js';
import type { Fail, Input, Reply } from '../contract/types.js';
import { claimKey, storedResponse, storeResponse } from '../db/repos/idempotency.repo.js';
import * as orders from '../db/repos/orders.repo.js';
import type { OrderRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { recordActivity } from '../jobs/index.js';
import { caller } from './caller.js';
import { byId, listReply, readPaging } from './paging.js';

type Order = components['schemas']['Order'];
type OrderSummary = components['schemas']['OrderSummary'];

export function orderToApi({ order, lines }: orders.OrderWithLines): Order {
  return {
    id: order.id,
    user_id: order.user_id,
    shipping_address: order.shipping_address,
    total: Number(order.total),
    created_at: order.created_at.toISOString(),
    lines: lines.map((line) => ({
      item_id: line.item_id,
      name: line.name,
      unit_price: Number(line.unit_price),
      tax: line.tax === null ? null : Number(line.tax),
      quantity: line.quantity,
      line_total: Number(line.line_total),
    })),
  };
}

function orderRowToSummary(row: OrderRow & { line_count: number }): OrderSummary {
  return {
    id: row.id,
    user_id: row.user_id,
    shipping_address: row.shipping_address,
    total: Number(row.total),
    line_count: row.line_count,
    created_at: row.created_at.toISOString(),
  };
}

/** JSON with object keys sorted, so equal bodies hash equally whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const created = (order: Order, replayed: boolean): Reply<'createOrder'> => ({
  status: 201,
  headers: { Location: `/orders/${order.id}`, 'Idempotent-Replayed': String(replayed) },
  body: order,
});

/**
 * Valid prices and quantities can still add up to more than an order holds:
 * that is the client's input, so a 422, not a 500 (found by the contract fuzzer).
 */
const tooLarge =
  (fail: Fail<'createOrder'>) =>
  (error: unknown): never => {
    if (orders.amountOutOfRange(error)) {
      const { detail, options } = violationsOf([
        {
          in: 'body',
          path: '/items',
          message: 'the total is larger than an order can hold',
          keyword: 'maximum',
        },
      ]);
      throw fail(422, 'validation-failed', detail, options);
    }
    throw error;
  };

export async function createOrder(input: Input<'createOrder'>, deps: Deps): Promise<Reply<'createOrder'>> {
  const buyer = caller(input.principal).id;
  const key = input.header['Idempotency-Key'];
  const requestHash = createHash('sha256').update(canonical(input.body)).digest('hex');

  return deps.db.transaction().execute(async (trx) => {
    if (key !== undefined) {
      const claim = { userId: buyer, key, requestHash, ttlSeconds: deps.config.idempotencyTtlSeconds };
      if (!(await claimKey(trx, claim))) {
        const stored = await storedResponse(trx, buyer, key);
        if (stored === undefined || stored.requestHash !== requestHash) {
          throw input.fail(
            409,
            'idempotency-key-reused',
            'This Idempotency-Key was used with a different request.',
          );
        }
        return created(stored.response as Order, true);
      }
    }
    const missing = await orders.lockItems(
      trx,
      input.body.items.map((line) => line.item_id),
    );
    if (missing.size > 0) {
      const { detail, options } = violationsOf(
        input.body.items.flatMap((line, index) =>
          missing.has(line.item_id)
            ? [
                {
                  in: 'body' as const,
                  path: `/items/${index}/item_id`,
                  message: 'no such item',
                  keyword: 'exists',
                },
              ]
            : [],
        ),
      );
      throw input.fail(422, 'validation-failed', detail, options);
    }
    const order = orderToApi(
      await orders
        .insertOrder(trx, {
          userId: buyer,
          shippingAddress: input.body.shipping_address,
          lines: input.body.items.map((line) => ({ itemId: line.item_id, quantity: line.quantity })),
        })
        .catch(tooLarge(input.fail)),
    );
    if (key !== undefined) await storeResponse(trx, buyer, key, 201, order);
    // Only here, never on a replay above: one order, one entry.
    await recordActivity(trx, buyer, 'order_placed', { order_id: order.id, total: order.total });
    return created(order, false);
  });
}

export async function listOrders(input: Input<'listOrders'>, deps: Deps): Promise<Reply<'listOrders'>> {
  const me = caller(input.principal);
  const wanted = input.query.user_id;
  if (!me.admin && wanted !== undefined && wanted !== me.id) {
    throw input.fail(403, 'forbidden', "Only an admin may list other users' orders.");
  }
  const scope = { path: '/orders', filters: { user_id: wanted } };
  const paging = readPaging(deps.config, scope, input.query, byId);
  const page = await orders.listOrders(deps.db, { ...paging, userId: me.admin ? wanted : me.id });
  return listReply(deps.config, scope, paging, page, byId, orderRowToSummary);
}

export async function getOrder(input: Input<'getOrder'>, deps: Deps): Promise<Reply<'getOrder'>> {
  const me = caller(input.principal);
  const found = await orders.findOrder(deps.db, input.path.order_id);
  if (found === undefined || (found.order.user_id !== me.id && !me.admin))
    throw input.fail(404, 'not-found', 'Order not found');
  return { status: 200, body: orderToApi(found) };
}
