import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * The catalogue and orders. Money is numeric(12,2); tax rates numeric(5,4).
 * Order lines copy name, price and tax from the catalogue, so deleting an item
 * only nulls the lines' item_id.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('items')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('owner_id', 'bigint', (col) => col.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (col) => col.notNull().check(sql`char_length(name) between 1 and 200`))
    .addColumn('description', 'text')
    .addColumn('price', sql`numeric(12,2)`, (col) => col.notNull().check(sql`price > 0`))
    .addColumn('tax', sql`numeric(5,4)`, (col) => col.check(sql`tax between 0 and 1`))
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('items_owner_id_idx').on('items').column('owner_id').execute();

  await db.schema
    .createTable('orders')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('user_id', 'bigint', (col) => col.notNull().references('users.id').onDelete('cascade'))
    .addColumn('shipping_address', 'text', (col) => col.notNull())
    .addColumn('total', sql`numeric(14,2)`, (col) => col.notNull())
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('orders_user_id_id_idx').on('orders').columns(['user_id', 'id']).execute();

  await db.schema
    .createTable('order_lines')
    .addColumn('order_id', 'bigint', (col) => col.notNull().references('orders.id').onDelete('cascade'))
    .addColumn('line_no', 'integer', (col) => col.notNull())
    .addColumn('item_id', 'bigint', (col) => col.references('items.id').onDelete('set null'))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('unit_price', sql`numeric(12,2)`, (col) => col.notNull())
    .addColumn('tax', sql`numeric(5,4)`)
    .addColumn('quantity', 'integer', (col) => col.notNull().check(sql`quantity between 1 and 1000`))
    .addColumn('line_total', sql`numeric(14,2)`, (col) => col.notNull())
    .addPrimaryKeyConstraint('order_lines_pkey', ['order_id', 'line_no'])
    .execute();
  await db.schema.createIndex('order_lines_item_id_idx').on('order_lines').column('item_id').execute();

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('user_id', 'bigint', (col) => col.notNull().references('users.id').onDelete('cascade'))
    .addColumn('key', 'text', (col) => col.notNull())
    .addColumn('request_hash', 'text', (col) => col.notNull())
    .addColumn('status', 'integer')
    .addColumn('response', 'jsonb')
    .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (col) => col.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pkey', ['user_id', 'key'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('idempotency_keys').execute();
  await db.schema.dropTable('order_lines').execute();
  await db.schema.dropTable('orders').execute();
  await db.schema.dropTable('items').execute();
}
