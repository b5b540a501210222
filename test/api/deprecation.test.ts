/**
 * Deprecation and sunset from the contract, on a fixture contract
 * (test/fixtures/deprecation.yaml): the real contract deprecates nothing.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { parse } from 'yaml';
import { OncePerDay } from '../../src/contract/deprecation.js';
import { indexDocument } from '../../src/contract/spec.js';
import type { OpenApiDocument } from '../../src/contract/spec.js';
import type { AnyHandler } from '../../src/http/backend.js';
import { startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { expectProblem } from '../helpers/problems.js';

const fixture = indexDocument(
  parse(readFileSync(new URL('../fixtures/deprecation.yaml', import.meta.url), 'utf8')) as OpenApiDocument,
);

const ok: AnyHandler = async (input: Record<string, unknown>) => ({
  status: input['operationId'] === 'createNote' ? 201 : 200,
  body: {},
});
const handlers: Record<string, AnyHandler> = {
  listReports: ok,
  getLegacy: ok,
  createNote: ok,
  getStatus: ok,
};

const REPORTS_LINK = '</docs#/reports/listReports>; rel="deprecation"; type="text/html"';
const NOTES_LINK = '</docs#/notes/createNote>; rel="deprecation"; type="text/html"';

describe('deprecation and sunset (fixture contract)', () => {
  let t: TestApp;
  let enforcing: TestApp;
  before(async () => {
    t = await startApp({}, { spec: fixture, handlers, security: {} });
    enforcing = await startApp({ SUNSET_ENFORCE: 'true' }, { spec: fixture, handlers, security: {} });
  });
  after(async () => {
    await t.close();
    await enforcing.close();
  });

  const note = (body: unknown, query = ''): Promise<Response> =>
    t.fetch(`/notes${query}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('announces a deprecated operation on every answer: Deprecation date, Sunset and a Link to its docs', async () => {
    for (const path of ['/reports', '/reports?limit=0']) {
      const res = await t.fetch(path);
      expect(res.status, path).to.equal(path === '/reports' ? 200 : 422);
      expect(res.headers.get('deprecation'), path).to.equal(`@${Date.UTC(2026, 0, 15) / 1000}`);
      expect(res.headers.get('sunset'), path).to.equal('Thu, 31 Dec 2099 00:00:00 GMT');
      expect(res.headers.get('link'), path).to.equal(REPORTS_LINK);
    }
  });

  it('leaves Deprecation out when the contract gives no date (RFC 9745 allows only a date), and says so at start-up', async () => {
    const res = await t.fetch('/legacy');
    expect(res.status).to.equal(200);
    expect(res.headers.has('deprecation')).to.equal(false);
    expect(res.headers.get('sunset')).to.equal('Wed, 01 Jan 2020 00:00:00 GMT');
    expect(res.headers.get('link')).to.equal(
      '</docs#/reports/getLegacy>; rel="deprecation"; type="text/html"',
    );
    const warnings = t.logs.filter((line) => String(line.msg).includes('getLegacy is deprecated without'));
    expect(warnings).to.have.length(1);
  });

  it('answers 410 past the sunset when SUNSET_ENFORCE is on, with the same headers', async () => {
    const res = await enforcing.fetch('/legacy');
    const problem = await expectProblem(res, 410, 'operation-retired');
    expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(res.headers.get('sunset')).to.equal('Wed, 01 Jan 2020 00:00:00 GMT');
    expect(problem.status).to.equal(410);
    expect(problem.detail).to.equal('GET /legacy was retired on 2020-01-01; see /docs#/reports/getLegacy.');
    expect((await enforcing.fetch('/reports')).status, 'sunset still ahead').to.equal(200);
  });

  it('sends only the Link for an operation with deprecated fields, and nothing for one without', async () => {
    const res = await note({ text: 'hi' });
    expect(res.status).to.equal(201);
    expect(res.headers.get('link')).to.equal(NOTES_LINK);
    expect(res.headers.has('deprecation')).to.equal(false);
    expect(res.headers.has('sunset')).to.equal(false);
    const plain = await t.fetch('/status');
    expect(plain.headers.has('link')).to.equal(false);
    expect(plain.headers.has('deprecation')).to.equal(false);
  });

  it('counts each use of a deprecated parameter or property, and logs it once per client and day', async () => {
    const logged = (): string[] =>
      t.logs.filter((line) => line.msg === 'deprecated field used').map((line) => String(line['field']));
    const before = logged().length;
    expect((await note({ text: 'a', color: 'red', address: { zip: '1' } }, '?format=md')).status).to.equal(
      201,
    );
    expect((await note({ text: 'b', color: 'blue' })).status).to.equal(201);
    expect((await note({ text: 'c', address: { street: 'x' } })).status).to.equal(201);
    const metrics = await (await t.fetch('/metrics')).text();
    const count = (field: string): number => {
      const line = metrics
        .split('\n')
        .find((l) => l.startsWith(`api_deprecated_use_total{operation="createNote",field="${field}"}`));
      return Number(line?.split(' ').pop());
    };
    expect(count('query parameter format')).to.equal(1);
    expect(count('body property color')).to.equal(2);
    expect(count('body property address.zip')).to.equal(1);
    expect(metrics).to.not.include('field="body property address.street"');
    expect(logged().slice(before).sort()).to.deep.equal([
      'body property address.zip',
      'body property color',
      'query parameter format',
    ]);
  });

  describe('OncePerDay (the bounded log filter)', () => {
    it('lets each key through once a day, at most `limit` keys a day, and starts afresh the next day', () => {
      let now = Date.UTC(2026, 11, 3, 10);
      const once = new OncePerDay(2, () => now);
      expect([once.first('a'), once.first('a'), once.first('b'), once.first('c')]).to.deep.equal([
        true,
        false,
        true,
        false,
      ]);
      expect(once.size).to.equal(2);
      now += 24 * 3600 * 1000;
      expect([once.first('a'), once.first('c')]).to.deep.equal([true, true]);
      expect(once.size).to.equal(2);
    });
  });
});
