import { expect } from 'chai';
import { countRows, resetDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { bearer, seedUser, tokenFor } from '../helpers/users.js';
import { expectAnswer } from '../helpers/client.js';
import { expectProblem } from '../helpers/problems.js';
import type { components } from '../../generated/openapi.js';

/** A strong entity tag made of the row's version. */
const STRONG_TAG = /^"\d+"$/;

/** The `If-Match` header parameter, or none. */
const ifMatch = (tag?: string): { 'If-Match'?: string } => (tag === undefined ? {} : { 'If-Match': tag });

describe('conditional requests: ETag, If-None-Match, If-Match', () => {
  let t: TestApp;
  let strict: TestApp;
  let seller: { id: number; token: string };
  before(async () => {
    t = await startApp();
    strict = await startApp({ IF_MATCH_REQUIRED: 'items,users' });
  });
  after(async () => {
    await t.close();
    await strict.close();
  });
  beforeEach(async () => {
    await resetDatabase();
    const user = await seedUser();
    seller = { id: user.id, token: tokenFor(t, user.id) };
  });

  const createItem = async (): Promise<number> => {
    const res = await t.api.POST('/items', {
      body: { name: 'Keyboard', price: 10 },
      headers: bearer(seller.token),
    });
    return expectAnswer(res, 201).id;
  };
  const getItem = (item_id: number, header: { 'If-None-Match'?: string } = {}) =>
    t.api.GET('/items/{item_id}', { params: { path: { item_id }, header } });
  const patchItem = (
    app: TestApp,
    item_id: number,
    token: string,
    body: components['schemas']['ItemUpdate'],
    tag?: string,
  ) =>
    app.api.PATCH('/items/{item_id}', {
      params: { path: { item_id }, header: ifMatch(tag) },
      body,
      headers: bearer(token),
    });
  const deleteItem = (app: TestApp, item_id: number, token: string, tag?: string) =>
    app.api.DELETE('/items/{item_id}', {
      params: { path: { item_id }, header: ifMatch(tag) },
      headers: bearer(token),
    });
  const getUser = (user_id: number, token: string, header: { 'If-None-Match'?: string } = {}) =>
    t.api.GET('/users/{user_id}', { params: { path: { user_id }, header }, headers: bearer(token) });
  const getMe = (token: string, header: { 'If-None-Match'?: string } = {}) =>
    t.api.GET('/users/me', { params: { header }, headers: bearer(token) });
  const patchUser = (
    app: TestApp,
    user_id: number,
    token: string,
    body: components['schemas']['UserUpdate'],
    tag?: string,
  ) =>
    app.api.PATCH('/users/{user_id}', {
      params: { path: { user_id }, header: ifMatch(tag) },
      body,
      headers: bearer(token),
    });
  const deleteUser = (app: TestApp, user_id: number, token: string, tag?: string) =>
    app.api.DELETE('/users/{user_id}', {
      params: { path: { user_id }, header: ifMatch(tag) },
      headers: bearer(token),
    });
  /** A 304 with this ETag and no body (which the client reads as an empty error). */
  const expectNotModified = (
    res: { readonly response: Response; readonly error?: unknown },
    tag: string,
    label?: string,
  ) => {
    expect(res.response.status, label).to.equal(304);
    expect(res.response.headers.get('etag')).to.equal(tag);
    expect(res.error ?? '', 'the body').to.equal('');
  };
  /** The strong ETag of a 200 answer. */
  const etagOf = async (answer: Promise<{ readonly response: Response }>): Promise<string> => {
    const { response } = await answer;
    expect(response.status).to.equal(200);
    const tag = response.headers.get('etag');
    expect(tag).to.match(STRONG_TAG);
    return tag ?? '';
  };

  describe('getItem', () => {
    it('carries a strong ETag that changes when the item changes', async () => {
      const id = await createItem();
      const first = await etagOf(getItem(id));
      expect(await etagOf(getItem(id))).to.equal(first);
      const res = await patchItem(t, id, seller.token, { price: 11 });
      expect(res.response.status).to.equal(200);
      const second = await etagOf(getItem(id));
      expect(second).to.not.equal(first);
      expect(res.response.headers.get('etag')).to.equal(second);
    });

    it('answers 304 without a body to a matching If-None-Match, 200 to another tag', async () => {
      const id = await createItem();
      const tag = await etagOf(getItem(id));
      expectNotModified(await getItem(id, { 'If-None-Match': `"0", ${tag}` }), tag);
      const other = await getItem(id, { 'If-None-Match': '"0"' });
      expect(other.response.status).to.equal(200);
    });
  });

  describe('updateItem', () => {
    it('answers 412 to a stale If-Match and changes nothing; the current tag or * succeeds', async () => {
      const id = await createItem();
      const stale = await etagOf(getItem(id));
      const ok = await patchItem(t, id, seller.token, { price: 12 }, stale);
      expect(ok.response.status).to.equal(200);
      const refused = await patchItem(t, id, seller.token, { price: 13 }, stale);
      await expectProblem(refused, 412, 'precondition-failed');
      expect((await getItem(id)).data?.price).to.equal(12);
      const anyTag = await patchItem(t, id, seller.token, { price: 14 }, '*');
      expect(anyTag.response.status).to.equal(200);
    });

    it('lets exactly one of 10 concurrent PATCHes with the same tag through; the others get 412', async () => {
      const id = await createItem();
      const tag = await etagOf(getItem(id));
      const prices = Array.from({ length: 10 }, (_, i) => 20 + i);
      const answers = await Promise.all(
        prices.map((price) => patchItem(t, id, seller.token, { price }, tag)),
      );
      const statuses = answers.map((res) => res.response.status).sort();
      expect(statuses).to.deep.equal([200, 412, 412, 412, 412, 412, 412, 412, 412, 412]);
      const winner = answers.find((res) => res.response.status === 200);
      if (winner === undefined) throw new Error('no PATCH got through');
      const won = expectAnswer(winner, 200);
      expect((await getItem(id)).data?.price).to.equal(won.price);
    });

    it('answers 428 without If-Match when the operator requires it for items, and changes nothing', async () => {
      const id = await createItem();
      const token = tokenFor(strict, seller.id);
      await expectProblem(await patchItem(strict, id, token, { price: 99 }), 428, 'precondition-required');
      expect((await getItem(id)).data?.price).to.equal(10);
      const tag = await etagOf(getItem(id));
      const ok = await patchItem(strict, id, token, { price: 99 }, tag);
      expect(ok.response.status).to.equal(200);
    });
  });

  describe('deleteItem', () => {
    it('answers 412 to a stale If-Match and keeps the item; the current tag deletes it', async () => {
      const id = await createItem();
      const stale = await etagOf(getItem(id));
      expect((await patchItem(t, id, seller.token, { price: 11 })).response.status).to.equal(200);
      await expectProblem(await deleteItem(t, id, seller.token, stale), 412, 'precondition-failed');
      expect(await countRows('items')).to.equal(1);
      const current = await etagOf(getItem(id));
      const res = await deleteItem(t, id, seller.token, current);
      expect(res.response.status).to.equal(204);
      expect(await countRows('items')).to.equal(0);
    });

    it('answers 428 without If-Match when the operator requires it', async () => {
      const id = await createItem();
      const token = tokenFor(strict, seller.id);
      await expectProblem(await deleteItem(strict, id, token), 428, 'precondition-required');
      expect(await countRows('items')).to.equal(1);
    });
  });

  describe('getUser and getCurrentUser', () => {
    it('carry the same strong ETag, and answer 304 to a matching If-None-Match', async () => {
      const tag = await etagOf(getUser(seller.id, seller.token));
      expect(await etagOf(getMe(seller.token))).to.equal(tag);
      const path = `/users/${seller.id}`;
      expectNotModified(await getUser(seller.id, seller.token, { 'If-None-Match': tag }), tag, path);
      expectNotModified(await getMe(seller.token, { 'If-None-Match': tag }), tag, '/users/me');
    });

    it('answer 422 to an If-None-Match over 2000 characters', async () => {
      const res = await t.fetch('/users/me', {
        headers: { ...bearer(seller.token), 'If-None-Match': `"${'1'.repeat(2000)}"` },
      });
      await expectProblem(res, 422, 'validation-failed');
    });
  });

  describe('updateUser', () => {
    it('answers 412 to a stale If-Match and changes nothing; the new ETag comes with the 200', async () => {
      const stale = await etagOf(getUser(seller.id, seller.token));
      const ok = await patchUser(t, seller.id, seller.token, { full_name: 'First' }, stale);
      expect(ok.response.status).to.equal(200);
      expect(ok.response.headers.get('etag')).to.match(STRONG_TAG).and.not.equal(stale);
      const refused = await patchUser(t, seller.id, seller.token, { full_name: 'Second' }, stale);
      await expectProblem(refused, 412, 'precondition-failed');
      expect((await getMe(seller.token)).data?.full_name).to.equal('First');
    });

    it('lets exactly one of 10 concurrent PATCHes with the same tag through; the others get 412', async () => {
      const tag = await etagOf(getUser(seller.id, seller.token));
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          patchUser(t, seller.id, seller.token, { full_name: `Name ${i}` }, tag),
        ),
      );
      expect(answers.map((res) => res.response.status).sort()).to.deep.equal([
        200, 412, 412, 412, 412, 412, 412, 412, 412, 412,
      ]);
    });

    it('answers 428 without If-Match when the operator requires it for users', async () => {
      const token = tokenFor(strict, seller.id);
      const res = await patchUser(strict, seller.id, token, { full_name: 'Nope' });
      await expectProblem(res, 428, 'precondition-required');
    });
  });

  describe('deleteUser', () => {
    it('answers 412 to a stale If-Match and keeps the account; 428 without one when required', async () => {
      const admin = await seedUser({ role: 'admin' });
      const token = tokenFor(t, admin.id);
      const stale = await etagOf(getUser(seller.id, token));
      expect((await patchUser(t, seller.id, token, { full_name: 'Changed' })).response.status).to.equal(200);
      await expectProblem(await deleteUser(t, seller.id, token, stale), 412, 'precondition-failed');
      const strictToken = tokenFor(strict, admin.id);
      await expectProblem(await deleteUser(strict, seller.id, strictToken), 428, 'precondition-required');
      expect(await countRows('users')).to.equal(2);
      const current = await etagOf(getUser(seller.id, token));
      expect((await deleteUser(t, seller.id, token, current)).response.status).to.equal(204);
      expect(await countRows('users')).to.equal(1);
    });
  });
});
