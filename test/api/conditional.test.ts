import { expect } from 'chai';
import { countRows, resetDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { bearer, postJson, seedUser, tokenFor } from '../helpers/users.js';

/** A strong entity tag made of the row's version. */
const STRONG_TAG = /^"\d+"$/;

interface Problem {
  status: number;
  title: string;
}

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
    const res = await postJson(t, '/items', { name: 'Keyboard', price: 10 }, bearer(seller.token));
    expect(res.status).to.equal(201);
    return ((await res.json()) as { id: number }).id;
  };
  const send = (
    app: TestApp,
    method: 'PATCH' | 'DELETE',
    path: string,
    token: string,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<Response> =>
    app.fetch(path, {
      method,
      headers: {
        ...bearer(token),
        ...headers,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const etagOf = async (path: string, token?: string): Promise<string> => {
    const res = await t.fetch(path, { headers: token === undefined ? {} : bearer(token) });
    expect(res.status).to.equal(200);
    const tag = res.headers.get('etag');
    expect(tag).to.match(STRONG_TAG);
    return tag ?? '';
  };
  const expectProblem = async (res: Response, status: number): Promise<void> => {
    expect(res.status, await res.clone().text()).to.equal(status);
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(((await res.json()) as Problem).status).to.equal(status);
  };

  describe('getItem', () => {
    it('carries a strong ETag that changes when the item changes', async () => {
      const id = await createItem();
      const first = await etagOf(`/items/${id}`);
      expect(await etagOf(`/items/${id}`)).to.equal(first);
      const res = await send(t, 'PATCH', `/items/${id}`, seller.token, {}, { price: 11 });
      expect(res.status).to.equal(200);
      const second = await etagOf(`/items/${id}`);
      expect(second).to.not.equal(first);
      expect(res.headers.get('etag')).to.equal(second);
    });

    it('answers 304 without a body to a matching If-None-Match, 200 to another tag', async () => {
      const id = await createItem();
      const tag = await etagOf(`/items/${id}`);
      const same = await t.fetch(`/items/${id}`, { headers: { 'If-None-Match': `"0", ${tag}` } });
      expect(same.status).to.equal(304);
      expect(same.headers.get('etag')).to.equal(tag);
      expect(await same.text()).to.equal('');
      const other = await t.fetch(`/items/${id}`, { headers: { 'If-None-Match': '"0"' } });
      expect(other.status).to.equal(200);
    });
  });

  describe('updateItem', () => {
    it('answers 412 to a stale If-Match and changes nothing; the current tag or * succeeds', async () => {
      const id = await createItem();
      const stale = await etagOf(`/items/${id}`);
      const ok = await send(t, 'PATCH', `/items/${id}`, seller.token, { 'If-Match': stale }, { price: 12 });
      expect(ok.status).to.equal(200);
      const refused = await send(
        t,
        'PATCH',
        `/items/${id}`,
        seller.token,
        { 'If-Match': stale },
        { price: 13 },
      );
      await expectProblem(refused, 412);
      const item = (await (await t.fetch(`/items/${id}`)).json()) as { price: number };
      expect(item.price).to.equal(12);
      const anyTag = await send(t, 'PATCH', `/items/${id}`, seller.token, { 'If-Match': '*' }, { price: 14 });
      expect(anyTag.status).to.equal(200);
    });

    it('lets exactly one of 10 concurrent PATCHes with the same tag through; the others get 412', async () => {
      const id = await createItem();
      const tag = await etagOf(`/items/${id}`);
      const prices = Array.from({ length: 10 }, (_, i) => 20 + i);
      const answers = await Promise.all(
        prices.map((price) => send(t, 'PATCH', `/items/${id}`, seller.token, { 'If-Match': tag }, { price })),
      );
      const statuses = answers.map((res) => res.status).sort();
      expect(statuses).to.deep.equal([200, 412, 412, 412, 412, 412, 412, 412, 412, 412]);
      const winner = answers.find((res) => res.status === 200);
      const won = (await winner?.json()) as { price: number };
      const stored = (await (await t.fetch(`/items/${id}`)).json()) as { price: number };
      expect(stored.price).to.equal(won.price);
    });

    it('answers 428 without If-Match when the operator requires it for items, and changes nothing', async () => {
      const id = await createItem();
      const token = tokenFor(strict, seller.id);
      await expectProblem(await send(strict, 'PATCH', `/items/${id}`, token, {}, { price: 99 }), 428);
      const item = (await (await t.fetch(`/items/${id}`)).json()) as { price: number };
      expect(item.price).to.equal(10);
      const tag = await etagOf(`/items/${id}`);
      const ok = await send(strict, 'PATCH', `/items/${id}`, token, { 'If-Match': tag }, { price: 99 });
      expect(ok.status).to.equal(200);
    });
  });

  describe('deleteItem', () => {
    it('answers 412 to a stale If-Match and keeps the item; the current tag deletes it', async () => {
      const id = await createItem();
      const stale = await etagOf(`/items/${id}`);
      expect((await send(t, 'PATCH', `/items/${id}`, seller.token, {}, { price: 11 })).status).to.equal(200);
      await expectProblem(await send(t, 'DELETE', `/items/${id}`, seller.token, { 'If-Match': stale }), 412);
      expect(await countRows('items')).to.equal(1);
      const current = await etagOf(`/items/${id}`);
      const res = await send(t, 'DELETE', `/items/${id}`, seller.token, { 'If-Match': current });
      expect(res.status).to.equal(204);
      expect(await countRows('items')).to.equal(0);
    });

    it('answers 428 without If-Match when the operator requires it', async () => {
      const id = await createItem();
      const token = tokenFor(strict, seller.id);
      await expectProblem(await send(strict, 'DELETE', `/items/${id}`, token, {}), 428);
      expect(await countRows('items')).to.equal(1);
    });
  });

  describe('getUser and getCurrentUser', () => {
    it('carry the same strong ETag, and answer 304 to a matching If-None-Match', async () => {
      const tag = await etagOf(`/users/${seller.id}`, seller.token);
      expect(await etagOf('/users/me', seller.token)).to.equal(tag);
      for (const path of [`/users/${seller.id}`, '/users/me']) {
        const res = await t.fetch(path, { headers: { ...bearer(seller.token), 'If-None-Match': tag } });
        expect(res.status, path).to.equal(304);
        expect(res.headers.get('etag')).to.equal(tag);
        expect(await res.text()).to.equal('');
      }
    });

    it('answer 422 to an If-None-Match over 2000 characters', async () => {
      const res = await t.fetch('/users/me', {
        headers: { ...bearer(seller.token), 'If-None-Match': `"${'1'.repeat(2000)}"` },
      });
      await expectProblem(res, 422);
    });
  });

  describe('updateUser', () => {
    it('answers 412 to a stale If-Match and changes nothing; the new ETag comes with the 200', async () => {
      const stale = await etagOf(`/users/${seller.id}`, seller.token);
      const path = `/users/${seller.id}`;
      const ok = await send(t, 'PATCH', path, seller.token, { 'If-Match': stale }, { full_name: 'First' });
      expect(ok.status).to.equal(200);
      expect(ok.headers.get('etag')).to.match(STRONG_TAG).and.not.equal(stale);
      const refused = await send(
        t,
        'PATCH',
        path,
        seller.token,
        { 'If-Match': stale },
        { full_name: 'Second' },
      );
      await expectProblem(refused, 412);
      const me = (await (await t.fetch('/users/me', { headers: bearer(seller.token) })).json()) as {
        full_name: string;
      };
      expect(me.full_name).to.equal('First');
    });

    it('lets exactly one of 10 concurrent PATCHes with the same tag through; the others get 412', async () => {
      const tag = await etagOf(`/users/${seller.id}`, seller.token);
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          send(
            t,
            'PATCH',
            `/users/${seller.id}`,
            seller.token,
            { 'If-Match': tag },
            { full_name: `Name ${i}` },
          ),
        ),
      );
      expect(answers.map((res) => res.status).sort()).to.deep.equal([
        200, 412, 412, 412, 412, 412, 412, 412, 412, 412,
      ]);
    });

    it('answers 428 without If-Match when the operator requires it for users', async () => {
      const token = tokenFor(strict, seller.id);
      const res = await send(strict, 'PATCH', `/users/${seller.id}`, token, {}, { full_name: 'Nope' });
      await expectProblem(res, 428);
    });
  });

  describe('deleteUser', () => {
    it('answers 412 to a stale If-Match and keeps the account; 428 without one when required', async () => {
      const admin = await seedUser({ role: 'admin' });
      const token = tokenFor(t, admin.id);
      const stale = await etagOf(`/users/${seller.id}`, token);
      const path = `/users/${seller.id}`;
      expect((await send(t, 'PATCH', path, token, {}, { full_name: 'Changed' })).status).to.equal(200);
      await expectProblem(await send(t, 'DELETE', path, token, { 'If-Match': stale }), 412);
      await expectProblem(await send(strict, 'DELETE', path, tokenFor(strict, admin.id), {}), 428);
      expect(await countRows('users')).to.equal(2);
      const current = await etagOf(path, token);
      expect((await send(t, 'DELETE', path, token, { 'If-Match': current })).status).to.equal(204);
      expect(await countRows('users')).to.equal(1);
    });
  });
});
