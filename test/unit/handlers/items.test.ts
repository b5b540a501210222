import { expect } from 'chai';
import { createItem, getItem, updateItem } from '../../../src/handlers/items.js';
import { answered, apiError, input, resetDatabase, someone, unitDeps } from './deps.js';

const lamp = { name: 'Lamp', description: 'A desk lamp', price: 19.99, tax: 0.2 };

describe('items handlers, called directly', () => {
  beforeEach(resetDatabase);

  it('creates an item owned by the caller, amounts as numbers', async () => {
    const deps = await unitDeps();
    const owner = await someone(deps);
    const reply = answered(
      await createItem(input('createItem', { body: lamp, principal: owner }), deps),
      201,
    );
    expect(reply.headers.Location).to.equal(`/items/${reply.body.id}`);
    expect(reply.body).to.include({ owner_id: owner.userId, name: 'Lamp', price: 19.99, tax: 0.2 });
  });

  it('answers 404 for an item that does not exist', async () => {
    const deps = await unitDeps();
    const error = await apiError(getItem(input('getItem', { path: { item_id: 123 } }), deps));
    expect(error.status).to.equal(404);
  });

  it('answers 304 when If-None-Match names the current version', async () => {
    const deps = await unitDeps();
    const { body: item } = answered(
      await createItem(input('createItem', { body: lamp, principal: await someone(deps) }), deps),
      201,
    );
    const first = answered(await getItem(input('getItem', { path: { item_id: item.id } }), deps), 200);
    const etag = first.headers?.ETag;
    const again = await getItem(
      input('getItem', { path: { item_id: item.id }, header: { 'If-None-Match': etag } }),
      deps,
    );
    expect(again.status).to.equal(304);
  });

  it("hides another user's item from an update (404) and lets an admin change it", async () => {
    const deps = await unitDeps();
    const { body: item } = answered(
      await createItem(input('createItem', { body: lamp, principal: await someone(deps) }), deps),
      201,
    );
    const change = { path: { item_id: item.id }, body: { price: 25 } };
    const error = await apiError(
      updateItem(input('updateItem', { ...change, principal: await someone(deps) }), deps),
    );
    expect(error.status).to.equal(404);
    const reply = await updateItem(
      input('updateItem', { ...change, principal: await someone(deps, 'admin') }),
      deps,
    );
    expect(answered(reply, 200).body.price).to.equal(25);
  });
});
