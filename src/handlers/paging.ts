/**
 * Paging for every list operation: `skip`, `limit` and the opaque `cursor`
 * in; `next_cursor`, `total_capped` and `Link: <…>; rel="next"` out.
 *
 * A cursor is `base64url(JSON key).base64url(MAC)`: the key is the sort key
 * of the last entry shown (its id, or its time and id), and the MAC (HMAC-SHA256
 * under a key derived from JWT_SECRET, cut to 128 bits) covers the key and
 * the list it was made for (path and filters). So a cursor reveals nothing
 * useful, and one that was altered, made up or made for other filters is
 * refused with a 422 instead of silently paging something else.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { validationError } from '../contract/errors.js';
import type { Config } from '../config.js';
import type { Page } from '../db/repos/paging.js';

/** The paging parameters every list declares. */
export interface PagingQuery {
  readonly skip?: number;
  readonly limit?: number;
  readonly cursor?: string;
}

/**
 * The list a cursor belongs to: the request path (with its path parameters)
 * and the filters that shape the list. Both are bound into the cursor and
 * repeated in the `Link` URL.
 */
export interface ListScope {
  readonly path: string;
  readonly filters: Readonly<Record<string, string | number | boolean | undefined>>;
}

/** How one list turns its sort key into a cursor's JSON and back. */
export interface CursorKey<Row, Key> {
  /** The key of the last row shown, as JSON. */
  of(row: Row): unknown;
  /** The key from a cursor's JSON, or undefined when it has the wrong shape. */
  parse(json: unknown): Key | undefined;
}

const isId = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0;

/** Lists ordered by id, newest first: the key is the last id shown. */
export const byId: CursorKey<{ readonly id: number }, number> = {
  of: (row) => [row.id],
  parse: (json) => (Array.isArray(json) && json.length === 1 && isId(json[0]) ? json[0] : undefined),
};

/** What a list handler passes to its repository. */
export interface Paging<Key> {
  readonly skip: number;
  readonly limit: number;
  /** The position to continue after, from `cursor`. */
  readonly after: Key | undefined;
}

const DEFAULT_LIMIT = 10;
const MAC_BYTES = 16;

const macKeys = new WeakMap<Config, Buffer>();

/** A key of its own for cursors, derived from the JWT secret (tokens and cursors never share a MAC). */
function macKey(config: Config): Buffer {
  let key = macKeys.get(config);
  if (key === undefined) {
    key = createHmac('sha256', config.jwtSecret).update('list cursor').digest();
    macKeys.set(config, key);
  }
  return key;
}

/** The scope in one canonical string: the path, then the filters that are set, by name. */
function scopeText(scope: ListScope): string {
  const filters = Object.entries(scope.filters)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([scope.path, filters]);
}

function mac(config: Config, scope: ListScope, payload: string): Buffer {
  return createHmac('sha256', macKey(config))
    .update(scopeText(scope))
    .update('\n')
    .update(payload)
    .digest()
    .subarray(0, MAC_BYTES);
}

function encodeCursor(config: Config, scope: ListScope, key: unknown): string {
  const payload = Buffer.from(JSON.stringify(key)).toString('base64url');
  return `${payload}.${mac(config, scope, payload).toString('base64url')}`;
}

const badCursor = (message: string): Error =>
  validationError([{ in: 'query', path: '/cursor', message, keyword: 'cursor' }]);

function decodeCursor<Key>(
  config: Config,
  scope: ListScope,
  cursor: string,
  key: CursorKey<never, Key>,
): Key {
  const [payload = '', signature = '', ...rest] = cursor.split('.');
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(config, scope, payload);
  if (rest.length > 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw badCursor(
      'is not a cursor this list gave out: it was altered, or made for another list or other filters',
    );
  }
  let parsed: Key | undefined;
  try {
    parsed = key.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
  } catch {
    parsed = undefined;
  }
  // Only a cursor signed with this server's secret gets here; a wrong shape means a bug, not a client.
  if (parsed === undefined) throw badCursor('is not a cursor this list can read');
  return parsed;
}

/**
 * The request's paging, with its cursor checked against `scope`.
 * @example const paging = readPaging(deps.config, scope, input.query, byId);
 */
export function readPaging<Key>(
  config: Config,
  scope: ListScope,
  query: PagingQuery,
  key: CursorKey<never, Key>,
): Paging<Key> {
  return {
    skip: query.skip ?? 0,
    limit: query.limit ?? DEFAULT_LIMIT,
    after: query.cursor === undefined ? undefined : decodeCursor(config, scope, query.cursor, key),
  };
}

/** The URL of the next page: the same path and filters, the same limit, and the cursor. */
function nextLink(scope: ListScope, limit: number, cursor: string): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(scope.filters)) {
    if (value !== undefined) params.set(name, String(value));
  }
  params.set('limit', String(limit));
  params.set('cursor', cursor);
  return `<${scope.path}?${params.toString()}>; rel="next"`;
}

/** The page envelope every list answers with, and its `Link` header when a next page exists. */
export interface ListReply<Item> {
  readonly status: 200;
  readonly headers: { readonly Link?: string };
  readonly body: {
    items: Item[];
    total: number;
    total_capped: boolean;
    skip: number;
    limit: number;
    next_cursor: string | null;
  };
}

/**
 * A list's answer: the rows mapped to API objects, the count, and the cursor
 * (and Link) to the next page when there is one.
 * @example return listReply(deps.config, scope, paging, page, byId, itemRowToItem);
 */
export function listReply<Row, Item>(
  config: Config,
  scope: ListScope,
  paging: Paging<unknown>,
  page: Page<Row>,
  key: CursorKey<Row, unknown>,
  toItem: (row: Row) => Item,
): ListReply<Item> {
  const last = page.rows.at(-1);
  const next = page.more && last !== undefined ? encodeCursor(config, scope, key.of(last)) : null;
  return {
    status: 200,
    headers: next === null ? {} : { Link: nextLink(scope, paging.limit, next) },
    body: {
      items: page.rows.map(toItem),
      total: page.total,
      total_capped: page.totalCapped,
      skip: paging.skip,
      limit: paging.limit,
      next_cursor: next,
    },
  };
}
