/**
 * Bodies shaped to make the server work hard: deep nesting, huge flat arrays,
 * thousands of unknown keys, other charsets. Each is answered with a small 4xx
 * problem and changes nothing.
 */
import { expect } from 'chai';
import { countRows, resetDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { bearer, seedUser, tokenFor } from '../helpers/users.js';
import { expectProblem } from '../helpers/problems.js';

const nested = (depth: number): string => `{"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;

async function post(
  t: TestApp,
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; size: number; problem: Record<string, unknown> }> {
  const res = await t.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  expect(res.headers.get('content-type') ?? '', `${path} ${res.status}`).to.match(
    /^application\/problem\+json/,
  );
  return { status: res.status, size: Buffer.byteLength(text), problem: JSON.parse(text) as never };
}

describe('hostile request bodies', () => {
  let t: TestApp;
  let auth: Record<string, string>;

  before(async () => {
    // Values up to a million, so the violation caps are reached before the value limit.
    t = await startApp({ JSON_MAX_DEPTH: '32', JSON_MAX_VALUES: '1000000' });
  });
  after(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await resetDatabase();
    const user = await seedUser();
    auth = bearer(tokenFor(t, user.id));
  });

  it('answers 400 to JSON nested deeper than JSON_MAX_DEPTH, without signing in and on every body', async () => {
    for (const depth of [2_000, 10_000, 100_000]) {
      const users = await post(t, '/users', nested(depth));
      expect(users.status, `POST /users at depth ${depth}`).to.equal(400);
      expect(users.problem['detail']).to.match(/nest/i);
      for (const path of ['/items', '/orders']) {
        const answer = await post(t, path, nested(depth), auth);
        expect(answer.status, `POST ${path} at depth ${depth}`).to.equal(400);
      }
    }
    expect(await countRows('users')).to.equal(1);
  });

  it('accepts a body exactly at the depth limit and validates it as usual', async () => {
    // The top-level object is level 1, so 31 arrays inside it make 32 levels.
    const answer = await post(t, '/users', nested(31));
    await expectProblem(answer, 422, 'validation-failed');
    const tooDeep = await post(t, '/users', nested(32));
    await expectProblem(tooDeep, 400, 'malformed-body');
  });

  it('answers a flat array of 250,000 numbers as order lines with a short 422', async () => {
    const body = `{"items":[${Array.from({ length: 250_000 }, (_, i) => i % 10).join(',')}]}`;
    const answer = await post(t, '/orders', body, auth);
    await expectProblem(answer, 422, 'validation-failed');
    expect(answer.size).to.be.below(8 * 1024);
    expect(await countRows('orders')).to.equal(0);
  });

  it('lists at most 20 violations and says how many more there were', async () => {
    const extra = Array.from({ length: 90_000 }, (_, i) => `"k${i}":1`).join(',');
    const answer = await post(t, '/users', `{${extra}}`);
    await expectProblem(answer, 422, 'validation-failed');
    expect(answer.size).to.be.below(8 * 1024);
    expect(answer.problem['errors']).to.have.length(20);
    expect(answer.problem['errors_omitted']).to.be.above(90_000 - 20);
    expect(answer.problem['detail']).to.match(/the first 20 are listed/);
  });

  it('lists at most 20 strings with NUL characters, however many there are', async () => {
    const nuls = Array.from({ length: 110_000 }, () => '"\\u0000"').join(',');
    const answer = await post(t, '/items', `{"name":"a","price":1,"description":"x","tags":[${nuls}]}`, auth);
    await expectProblem(answer, 422, 'validation-failed');
    expect(answer.size).to.be.below(8 * 1024);
    expect(answer.problem['errors']).to.have.length.at.most(20);
  });

  it('keeps each listed violation short when the offending key is huge', async () => {
    const key = 'k'.repeat(200_000);
    const answer = await post(t, '/users', `{"${key}":1}`);
    await expectProblem(answer, 422, 'validation-failed');
    expect(answer.size).to.be.below(8 * 1024);
  });

  it('answers 400 to a body with more values than JSON_MAX_VALUES, before parsing it', async () => {
    const strict = await startApp({ JSON_MAX_VALUES: '10000' });
    try {
      const extra = Array.from({ length: 90_000 }, (_, i) => `"k${i}":1`).join(',');
      const wide = await post(strict, '/users', `{${extra}}`);
      await expectProblem(wide, 400, 'malformed-body');
      expect(wide.problem['detail']).to.match(/more than 10000 values/);
      const lines = `{"items":[${Array.from({ length: 250_000 }, (_, i) => i % 10).join(',')}]}`;
      expect((await post(strict, '/orders', lines, auth)).status).to.equal(400);
      // Commas inside strings are not values.
      const commas = await post(strict, '/users', JSON.stringify({ full_name: ','.repeat(20_000) }));
      await expectProblem(commas, 422, 'validation-failed');
    } finally {
      await strict.close();
    }
    expect(await countRows('orders')).to.equal(0);
  });

  it('keeps problems short when they quote a huge path or header', async () => {
    const path = `/no/${'%41'.repeat(4_000)}`;
    const notFound = await t.fetch(path);
    const problem = await expectProblem(notFound, 404, 'route-not-found');
    expect(Buffer.byteLength(await notFound.text())).to.be.below(2 * 1024);
    expect(problem.instance).to.match(/^\/no\/(%41)+\.\.\.$/);
    const unsupported = await post(t, '/items', '{}', {
      ...auth,
      'content-type': `application/${'x'.repeat(8_000)}`,
    });
    await expectProblem(unsupported, 415, 'unsupported-media-type');
    expect(unsupported.size).to.be.below(2 * 1024);
  });

  it('refuses JSON in a charset other than UTF-8 with 415', async () => {
    const body = Buffer.from(JSON.stringify({ name: 'Widget', price: 1 }), 'utf16le');
    for (const charset of ['utf-16', 'utf-16le', 'UTF-32', 'iso-8859-1']) {
      const answer = await post(t, '/items', body, {
        ...auth,
        'content-type': `application/json; charset=${charset}`,
      });
      expect(answer.status, charset).to.equal(415);
    }
    const utf8 = await t.fetch('/items', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json; charset=UTF-8' },
      body: JSON.stringify({ name: 'Widget', price: 1 }),
    });
    expect(utf8.status).to.equal(201);
    expect(await countRows('items')).to.equal(1);
  });
});
