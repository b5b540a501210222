/**
 * Orders. Placing one copies name, price and tax from the catalogue into its
 * lines and computes every amount in SQL (numeric), never in JavaScript.
 */
import { sql } from 'kysely';
import type { Db, OrderLineRow, OrderRow, Trx } from '../schema.js';
import { fetchPage } from './paging.js';
import type { Page, PageRequest } from './paging.js';

/**
 * True when a write failed because an amount outgrew its numeric(14,2) column
 * (SQLSTATE 22003, numeric_value_out_of_range): valid prices and quantities
 * can still add up to more than an order holds.
 */
export function amountOutOfRange(error: unknown): boolean {
  return (error as { code?: unknown } | null | undefined)?.code === '22003';
}

export interface OrderWithLines {
  readonly order: OrderRow;
  readonly lines: OrderLineRow[];
}

/**
 * Of the given item ids, those that do not exist. The others are locked
 * (FOR SHARE) until the transaction ends, so they cannot change or vanish
 * between this check and the snapshot.
 */
export async function lockItems(trx: Trx, ids: readonly number[]): Promise<Set<number>> {
  const found = await trx
    .selectFrom('items')
    .select('id')
    .where('id', 'in', [...new Set(ids)])
    .forShare()
    .execute();
  const present = new Set(found.map((row) => row.id));
  return new Set(ids.filter((id) => !present.has(id)));
}

/**
 * Inserts the order and its lines in the caller's transaction: line_total =
 * round(price × (1 + tax) × quantity, 2) and total = round(Σ unrounded, 2),
 * half-up (Postgres rounds numeric halves away from zero).
 */
export async function insertOrder(
  trx: Trx,
  order: { userId: number; shippingAddress: string; lines: readonly { itemId: number; quantity: number }[] },
): Promise<OrderWithLines> {
  const ids = order.lines.map((line) => line.itemId);
  const quantities = order.lines.map((line) => line.quantity);
  const priced = sql`
    select t.line_no::int as line_no, i.id as item_id, i.name, i.price, i.tax, t.quantity::int as quantity,
           i.price * (1 + coalesce(i.tax, 0)) * t.quantity as exact
    from unnest(${ids}::bigint[], ${quantities}::int[]) with ordinality as t(item_id, quantity, line_no)
    join items i on i.id = t.item_id`;
  const inserted = await sql<OrderRow>`
    insert into orders (user_id, shipping_address, total)
    select ${order.userId}, ${order.shippingAddress}, round(sum(p.exact), 2) from (${priced}) p
    returning *`.execute(trx);
  const created = inserted.rows[0];
  if (created === undefined) throw new Error('order insert returned no row');
  const lines = await sql<OrderLineRow>`
    insert into order_lines (order_id, line_no, item_id, name, unit_price, tax, quantity, line_total)
    select ${created.id}, p.line_no, p.item_id, p.name, p.price, p.tax, p.quantity, round(p.exact, 2)
    from (${priced}) p
    order by p.line_no
    returning *`.execute(trx);
  return { order: created, lines: lines.rows.sort((a, b) => a.line_no - b.line_no) };
}

export async function findOrder(db: Db, id: number): Promise<OrderWithLines | undefined> {
  const order = await db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst();
  if (order === undefined) return undefined;
  const lines = await db
    .selectFrom('order_lines')
    .selectAll()
    .where('order_id', '=', id)
    .orderBy('line_no')
    .execute();
  return { order, lines };
}

/** Newest first (after the order with id `after`, when given); all users' orders when `userId` is undefined. */
export async function listOrders(
  db: Db,
  page: PageRequest & { userId: number | undefined; after?: number | undefined },
): Promise<Page<OrderRow & { line_count: number }>> {
  let matching = db.selectFrom('orders');
  if (page.userId !== undefined) matching = matching.where('user_id', '=', page.userId);
  let rows = matching
    .selectAll('orders')
    .select((eb) =>
      eb
        .selectFrom('order_lines')
        .select(eb.fn.countAll<number>().as('n'))
        .whereRef('order_lines.order_id', '=', 'orders.id')
        .as('line_count'),
    )
    .orderBy('id', 'desc');
  if (page.after !== undefined) rows = rows.where('id', '<', page.after);
  const found = await fetchPage(db, rows, matching, page);
  return { ...found, rows: found.rows.map((row) => ({ ...row, line_count: Number(row.line_count) })) };
}
