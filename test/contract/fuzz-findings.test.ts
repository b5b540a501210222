/** Bugs the contract fuzzer found, pinned: each was a 500 before its fix. */
import { expect } from 'chai';
import { insertItem } from '../../src/db/repos/items.repo.js';
import { countRows, resetDatabase, sharedDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { bearer, postJson, seedUser, tokenFor, violations } from '../helpers/users.js';

describe('contract fuzzer findings', () => {
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

  it('refuses a NUL character in a body string with 422 (PostgreSQL text cannot hold it)', async () => {
    const res = await postJson(t, '/users', {
      email: 'nul@example.com',
      full_name: 'Ada\u0000Lovelace',
      age: 36,
      password: 'Secret123',
    });
    expect(await violations(res)).to.deep.equal(['body /full_name nul']);
    expect(await countRows('users')).to.equal(0);
  });

  it('refuses a NUL character in a query parameter with 422', async () => {
    const res = await t.fetch('/items?q=ab%00c');
    expect(await violations(res)).to.deep.equal(['query /q nul']);
  });

  it('answers 422 when valid prices and quantities add up to more than an order can hold', async () => {
    const buyer = await seedUser();
    const { db } = await sharedDatabase();
    const dear = await insertItem(db, { owner_id: buyer.id, name: 'Dear', price: '9999999999.99', tax: '1' });
    const res = await postJson(
      t,
      '/orders',
      { items: [{ item_id: dear.id, quantity: 1000 }], shipping_address: 'x' },
      bearer(tokenFor(t, buyer.id)),
    );
    expect(await violations(res)).to.deep.equal(['body /items maximum']);
    expect(await countRows('orders')).to.equal(0);
  });
});
