/**
 * The one paging query every list runs: a page of rows (with one extra row
 * fetched to learn whether another page follows) and a count of the matching
 * rows that stops at COUNT_CAP, so neither grows with the table.
 */
import type { Kysely, SelectQueryBuilder, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Rows counted at most; beyond it a page says `total_capped` instead of counting on. */
export const COUNT_CAP = 10_000;

export interface PageRequest {
  /** Rows to pass over first (after the keyset position, when there is one). */
  readonly skip: number;
  readonly limit: number;
}

export interface Page<Row> {
  readonly rows: Row[];
  /** Rows matching the filter over all pages, counted up to COUNT_CAP. */
  readonly total: number;
  /** True when more than COUNT_CAP rows match: `total` is then COUNT_CAP. */
  readonly totalCapped: boolean;
  /** True when rows follow the last one of this page. */
  readonly more: boolean;
}

/**
 * Runs `rows` (filtered, positioned after the cursor's key, ordered) for one
 * page and counts `matching` (the same filter, no position), both at once.
 * @example fetchPage(db, query.where('id', '<', after).orderBy('id', 'desc'), query, { skip, limit })
 */
export async function fetchPage<TB extends keyof Database, O, M>(
  db: Db,
  rows: SelectQueryBuilder<Database, TB, O>,
  matching: SelectQueryBuilder<Database, TB, M>,
  page: PageRequest,
): Promise<Page<O>> {
  const capped = matching
    .clearSelect()
    .clearOrderBy()
    .select(sql<number>`1`.as('one'))
    .limit(COUNT_CAP + 1)
    .as('matching');
  const [found, counted] = await Promise.all([
    rows
      .offset(page.skip)
      .limit(page.limit + 1)
      .execute(),
    db
      .selectFrom(capped)
      .select((eb) => eb.fn.countAll<number>().as('total'))
      .executeTakeFirstOrThrow(),
  ]);
  const total = Number(counted.total);
  return {
    rows: found.slice(0, page.limit),
    total: Math.min(total, COUNT_CAP),
    totalCapped: total > COUNT_CAP,
    more: found.length > page.limit,
  };
}
