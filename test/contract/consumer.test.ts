/**
 * A consumer's view: the generated types with openapi-fetch against the real
 * server, for sign up → log in → create an item → order it. A breaking change
 * to the contract (a renamed field, a removed path) breaks this file's compile
 * in `npm run typecheck` before it breaks a client.
 */
import { expect } from 'chai';
import createClient from 'openapi-fetch';
import type { paths } from '../../generated/openapi.js';
import { resetDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';

describe('consumer flow with openapi-fetch and the generated types', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetDatabase();
  });

  it('signs up, logs in, puts an item on sale, orders it and reads the order', async () => {
    const api = createClient<paths>({ baseUrl: t.url });

    const signUp = await api.POST('/users', {
      body: { email: 'consumer@example.com', full_name: 'Consumer', age: 33, password: 'Secret123' },
    });
    expect(signUp.response.status).to.equal(201);
    const user = signUp.data;
    if (user === undefined) throw new Error('no user in the sign-up answer');
    expect(user.role).to.equal('user');

    const login = await api.POST('/token', {
      body: { grant_type: 'password', username: 'consumer@example.com', password: 'Secret123' },
      // OAuth2 wants a form, not JSON.
      bodySerializer: (body) => new URLSearchParams(body as Record<string, string>).toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    const token = login.data?.access_token;
    if (token === undefined) throw new Error(`login failed: ${JSON.stringify(login.error)}`);
    const auth = { Authorization: `Bearer ${token}` };

    const item = await api.POST('/items', {
      body: { name: 'Keyboard', price: 59.9, tax: 0.1 },
      headers: auth,
    });
    expect(item.response.status).to.equal(201);
    const itemId = item.data?.id;
    if (itemId === undefined) throw new Error('no item id');
    expect(item.data?.owner_id).to.equal(user.id);

    const order = await api.POST('/orders', {
      body: { items: [{ item_id: itemId, quantity: 2 }], shipping_address: '1 Analytical Way' },
      params: { header: { 'Idempotency-Key': 'consumer-order-1' } },
      headers: auth,
    });
    expect(order.response.status).to.equal(201);
    expect(order.response.headers.get('location')).to.equal(`/orders/${order.data?.id}`);
    const orderId = order.data?.id;
    if (orderId === undefined) throw new Error('no order id');

    const read = await api.GET('/orders/{order_id}', {
      params: { path: { order_id: orderId } },
      headers: auth,
    });
    expect(read.data?.total).to.equal(131.78);
    expect(read.data?.lines.map((line) => [line.item_id, line.quantity])).to.deep.equal([[itemId, 2]]);

    // Errors are typed too: the problem document of a 404.
    const missing = await api.GET('/orders/{order_id}', {
      params: { path: { order_id: orderId + 1000 } },
      headers: auth,
    });
    expect(missing.error?.status).to.equal(404);
  });
});
