import { expect } from 'chai';
import { createItem } from '../../../src/handlers/items.js';
import { createOrder, listOrders } from '../../../src/handlers/orders.js';
import { countRows } from '../../helpers/app.js';
import { answered, apiError, input, resetDatabase, signedIn, someone, unitDeps } from './deps.js';
import type { Deps } from '../../../src/deps.js';

async function item(deps: Deps, price: number, tax: number | null = null): Promise<number> {
  const body = { name: `Item at ${price}`, price, ...(tax === null ? {} : { tax }) };
  return answered(await createItem(input('createItem', { body, principal: await someone(deps) }), deps), 201)
    .body.id;
}

describe('orders handlers, called directly', () => {
  beforeEach(resetDatabase);

  it('places an order with each line and the total computed from the catalogue', async () => {
    const deps = await unitDeps();
    const buyer = await someone(deps);
    const taxed = await item(deps, 10, 0.1);
    const plain = await item(deps, 2.5);
    const body = {
      shipping_address: '1 Main St',
      items: [
        { item_id: taxed, quantity: 3 },
        { item_id: plain, quantity: 2 },
      ],
    };
    const reply = answered(await createOrder(input('createOrder', { body, principal: buyer }), deps), 201);
    expect(reply.headers['Idempotent-Replayed']).to.equal('false');
    expect(reply.body.lines.map((line) => line.line_total)).to.deep.equal([33, 5]);
    expect(reply.body.total).to.equal(38);
    expect(reply.body.user_id).to.equal(buyer.userId);
  });

  it('refuses an order naming an item that does not exist with 422 on that line, and writes nothing', async () => {
    const deps = await unitDeps();
    const buyer = await someone(deps);
    const real = await item(deps, 10);
    const body = {
      shipping_address: 'x',
      items: [
        { item_id: real, quantity: 1 },
        { item_id: real + 100, quantity: 1 },
      ],
    };
    const error = await apiError(createOrder(input('createOrder', { body, principal: buyer }), deps));
    expect(error.status).to.equal(422);
    expect(error.errors?.map((e) => e.path)).to.deep.equal(['/items/1/item_id']);
    expect(await countRows('orders')).to.equal(0);
  });

  it('answers 422, not 500, when the amounts add up to more than an order holds', async () => {
    const deps = await unitDeps();
    const buyer = await someone(deps);
    const dear = await item(deps, 9_999_999_999.99);
    const body = { shipping_address: 'x', items: [{ item_id: dear, quantity: 1000 }] };
    const error = await apiError(createOrder(input('createOrder', { body, principal: buyer }), deps));
    expect(error.status).to.equal(422);
    expect(error.errors).to.deep.equal([
      {
        in: 'body',
        path: '/items',
        message: 'the total is larger than an order can hold',
        keyword: 'maximum',
      },
    ]);
    expect(await countRows('orders')).to.equal(0);
  });

  it('replays the stored order for a repeated Idempotency-Key, and refuses it with another body (409)', async () => {
    const deps = await unitDeps();
    const buyer = await someone(deps);
    const id = await item(deps, 4);
    const header = { 'Idempotency-Key': 'order-1' };
    const body = { shipping_address: 'x', items: [{ item_id: id, quantity: 1 }] };
    const first = answered(
      await createOrder(input('createOrder', { body, header, principal: buyer }), deps),
      201,
    );
    const again = answered(
      await createOrder(input('createOrder', { body, header, principal: buyer }), deps),
      201,
    );
    expect(again.headers['Idempotent-Replayed']).to.equal('true');
    expect(again.body.id).to.equal(first.body.id);
    const other = { ...body, shipping_address: 'elsewhere' };
    const error = await apiError(
      createOrder(input('createOrder', { body: other, header, principal: buyer }), deps),
    );
    expect(error.status).to.equal(409);
    expect(await countRows('orders')).to.equal(1);
  });

  it("refuses to list another user's orders to a user (403), not to an admin", async () => {
    const deps = await unitDeps();
    const buyer = await someone(deps);
    const query = { user_id: (await someone(deps)).userId ?? 0 };
    const error = await apiError(listOrders(input('listOrders', { query, principal: buyer }), deps));
    expect(error.status).to.equal(403);
    const reply = await listOrders(input('listOrders', { query, principal: signedIn(1, 'admin') }), deps);
    expect(answered(reply, 200).body).to.deep.include({ items: [], total: 0 });
  });
});
