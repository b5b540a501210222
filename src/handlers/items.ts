/** Handlers for the `items` tag. Owner-or-admin checks live here; roles come from x-roles. */
import type { components } from '../../generated/openapi.js';
import type { ApiError } from '../contract/errors.js';
import type { Fail, Input, Reply, UserPrincipal } from '../contract/types.js';
import * as items from '../db/repos/items.repo.js';
import type { ItemRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { caller } from './caller.js';
import { changedMeanwhile, ifMatch, noneMatch, versionTag } from './conditional.js';
import { byId, listReply, readPaging } from './paging.js';

type Item = components['schemas']['Item'];

/**
 * Rows become API objects only here. numeric arrives as an exact decimal
 * string; Number() of a string with at most two (four for tax) decimals is the
 * double that prints back as the same decimal, so no amount is computed in JS.
 */
export function itemRowToItem(row: ItemRow): Item {
  return {
    id: row.id,
    owner_id: row.owner_id,
    name: row.name,
    description: row.description,
    price: Number(row.price),
    tax: row.tax === null ? null : Number(row.tax),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

type ItemWrite = 'updateItem' | 'deleteItem';

const notFound = (fail: Fail<'getItem' | 'getUserItem' | ItemWrite>): ApiError =>
  fail(404, 'not-found', 'Item not found');

/** The item, when the caller owns it or is an admin; 404 otherwise (existence is not revealed). */
async function ownItem(
  input: { principal: UserPrincipal; fail: Fail<ItemWrite> },
  deps: Deps,
  id: number,
): Promise<ItemRow> {
  const me = caller(input.principal);
  const row = await items.findItem(deps.db, id);
  if (row === undefined || (row.owner_id !== me.id && !me.admin)) throw notFound(input.fail);
  return row;
}

export async function listItems(input: Input<'listItems'>, deps: Deps): Promise<Reply<'listItems'>> {
  const { q } = input.query;
  const scope = { path: '/items', filters: { q } };
  const paging = readPaging(deps.config, scope, input.query, byId);
  const page = await items.listItems(deps.db, { ...paging, q });
  return listReply(deps.config, scope, paging, page, byId, itemRowToItem);
}

export async function createItem(input: Input<'createItem'>, deps: Deps): Promise<Reply<'createItem'>> {
  const { name, description, price, tax } = input.body;
  const row = await items.insertItem(deps.db, {
    owner_id: caller(input.principal).id,
    name,
    description: description ?? null,
    price,
    tax: tax ?? null,
  });
  return { status: 201, headers: { Location: `/items/${row.id}` }, body: itemRowToItem(row) };
}

export async function getItem(input: Input<'getItem'>, deps: Deps): Promise<Reply<'getItem'>> {
  const row = await items.findItem(deps.db, input.path.item_id);
  if (row === undefined) throw notFound(input.fail);
  const etag = versionTag(row.version);
  if (noneMatch(input.header['If-None-Match'], etag)) return { status: 304, headers: { ETag: etag } };
  return { status: 200, headers: { ETag: etag }, body: itemRowToItem(row) };
}

/** After a conditional write matched no row: 412 if the item is still there, 404 if it is gone. */
async function missedWrite(fail: Fail<ItemWrite>, deps: Deps, id: number): Promise<ApiError> {
  return (await items.findItem(deps.db, id)) === undefined ? notFound(fail) : changedMeanwhile(fail, 'item');
}

export async function updateItem(input: Input<'updateItem'>, deps: Deps): Promise<Reply<'updateItem'>> {
  const id = input.path.item_id;
  const condition = ifMatch(input.fail, deps, 'items', input.header['If-Match']);
  await ownItem(input, deps, id);
  const versions = condition.kind === 'versions' ? condition.versions : undefined;
  const row = await items.updateItem(deps.db, id, input.body, versions);
  if (row === undefined) throw await missedWrite(input.fail, deps, id);
  return { status: 200, headers: { ETag: versionTag(row.version) }, body: itemRowToItem(row) };
}

export async function deleteItem(input: Input<'deleteItem'>, deps: Deps): Promise<Reply<'deleteItem'>> {
  const id = input.path.item_id;
  const condition = ifMatch(input.fail, deps, 'items', input.header['If-Match']);
  await ownItem(input, deps, id);
  const versions = condition.kind === 'versions' ? condition.versions : undefined;
  if (!(await items.deleteItem(deps.db, id, versions))) throw await missedWrite(input.fail, deps, id);
  return { status: 204 };
}

export async function getUserItem(input: Input<'getUserItem'>, deps: Deps): Promise<Reply<'getUserItem'>> {
  const row = await items.findUserItem(deps.db, input.path.user_id, input.path.item_id, input.query.q);
  if (row === undefined) throw notFound(input.fail);
  const { description: _omitted, ...short } = itemRowToItem(row);
  return {
    status: 200,
    body: input.query.short === true ? short : { ...short, description: row.description },
  };
}
