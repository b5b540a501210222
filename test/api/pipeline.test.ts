/**
 * The request/response pipeline itself, on a small fixture contract
 * (test/fixtures/pipeline.yaml): coercion, validation, body handling,
 * security and x-roles, response validation.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { OpenAPIRouter } from 'openapi-backend';
import { parse } from 'yaml';
import { ApiError } from '../../src/contract/errors.js';
import { indexDocument } from '../../src/contract/spec.js';
import type { OpenApiDocument } from '../../src/contract/spec.js';
import type { Principal, SecurityHandlers } from '../../src/contract/types.js';
import type { AnyHandler } from '../../src/http/backend.js';
import { startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { expectProblem } from '../helpers/problems.js';

const fixture = indexDocument(
  parse(readFileSync(new URL('../fixtures/pipeline.yaml', import.meta.url), 'utf8')) as OpenApiDocument,
);

const echo: AnyHandler = async (input: Record<string, unknown>) => ({
  status: input['operationId'] === 'createWidget' ? 201 : 200,
  body: {
    path: input['path'],
    query: input['query'],
    header: input['header'],
    cookie: input['cookie'],
    body: input['body'],
  },
});

const handlers: Record<string, AnyHandler> = {
  createWidget: echo,
  postForm: echo,
  adminOnly: async (input: { principal?: Principal }) => ({
    status: 200,
    body: { role: input.principal?.role },
  }),
  badResponse: async () => ({ status: 200, body: { name: 42, secret: 'must not leak' } }),
  undeclaredStatus: async () => ({ status: 418, body: { teapot: true } }),
  raisesProblem: async (input: { path: { case: string } }) => {
    if (input.path.case === 'declared') throw new ApiError('email-taken', 'Email already registered');
    if (input.path.case === 'undeclared-type') throw new ApiError('username-taken', 'Username already taken');
    throw new ApiError('range-not-satisfiable', 'The file has 3 bytes; the range starts beyond them.');
  },
  throwsError: async () => {
    throw new Error('connection to 10.0.0.7 refused: password authentication failed');
  },
};

const security: SecurityHandlers = {
  TestKey: ({ headers }) => {
    const key = headers['x-test-key'];
    if (key === undefined) throw new ApiError('unauthorized', 'No key.');
    if (key === 'admin-key') return { kind: 'apiKey', role: 'admin' };
    if (key === 'user-key') return { kind: 'apiKey', role: 'user' };
    if (key === 'broken-key') throw new Error('token store unreachable');
    throw new ApiError('forbidden', 'Unknown key.');
  },
};

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

describe('request and response pipeline (fixture contract)', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ BODY_LIMIT_BYTES: '2048' }, { spec: fixture, handlers, security });
  });
  after(async () => {
    await t.close();
  });

  describe('parameters', () => {
    it('coerces path, query, header and cookie values by their schema types', async () => {
      const res = await t.fetch(
        '/widgets/7?count=3&tags=ab&tags=cd&verbose=true',
        json({ name: 'bolt', price: 1.5 }, { 'x-trace': 'abc', cookie: 'session=s3cr; other=1' }),
      );
      expect(res.status).to.equal(201);
      expect(await res.json()).to.deep.equal({
        path: { widget_id: 7 },
        query: { count: 3, tags: ['ab', 'cd'], verbose: true },
        header: { 'X-Trace': 'abc' },
        cookie: { session: 's3cr' },
        body: { name: 'bolt', price: 1.5 },
      });
    });

    it('fills in declared defaults for absent query parameters', async () => {
      const res = await t.fetch('/widgets/7?count=3', json({ name: 'bolt', price: 1 }));
      expect(await res.json()).to.have.deep.property('query', { count: 3, verbose: false });
    });

    it('answers 422 naming every bad parameter, with where, pointer and keyword', async () => {
      const res = await t.fetch(
        '/widgets/0?count=abc&tags=x',
        json({ name: 'bolt', price: 1 }, { 'x-trace': 'ABC' }),
      );
      const body = await expectProblem(res, 422, 'validation-failed');
      expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
      const found = body.errors?.map((e) => `${e.in} ${e.path} ${e.keyword}`);
      expect(found).to.have.members([
        'path /widget_id minimum',
        'query /count type',
        'query /tags/0 minLength',
        'header /X-Trace pattern',
      ]);
    });

    it('answers 422 for a missing required query parameter', async () => {
      const res = await t.fetch('/widgets/1', json({ name: 'bolt', price: 1 }));
      const body = await expectProblem(res, 422, 'validation-failed');
      expect(body.errors).to.deep.equal([
        { in: 'query', path: '/count', message: "must have required property 'count'", keyword: 'required' },
      ]);
    });
  });

  describe('bodies', () => {
    it('answers 422 with one entry per body violation, pointing at the member', async () => {
      const res = await t.fetch(
        '/widgets/1?count=1',
        json({ name: '', price: -1, colour: 'blue', extra: 1 }),
      );
      const body = await expectProblem(res, 422, 'validation-failed');
      expect(body.errors?.map((e) => `${e.in} ${e.path} ${e.keyword}`)).to.have.members([
        'body /name minLength',
        'body /price exclusiveMinimum',
        'body /colour enum',
        'body /extra additionalProperties',
      ]);
    });

    it('never coerces bodies: a number sent as a string is a 422', async () => {
      const res = await t.fetch('/widgets/1?count=1', json({ name: 'bolt', price: '10' }));
      const body = await expectProblem(res, 422, 'validation-failed');
      expect(body.errors).to.deep.include({
        in: 'body',
        path: '/price',
        message: 'must be number',
        keyword: 'type',
      });
    });

    it('answers 400 for malformed JSON', async () => {
      const res = await t.fetch('/widgets/1?count=1', json('{"name": "bolt",'));
      await expectProblem(res, 400, 'malformed-body');
      expect(await res.json()).to.include({ status: 400, detail: 'The request body is not valid JSON.' });
    });

    it('answers 422 when a required body is missing', async () => {
      const res = await t.fetch('/widgets/1?count=1', { method: 'POST' });
      const body = await expectProblem(res, 422, 'validation-failed');
      expect(body.errors?.[0]).to.include({ in: 'body', keyword: 'required' });
    });

    it('answers 415 for a content type the operation does not declare', async () => {
      const res = await t.fetch('/widgets/1?count=1', {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'name=bolt',
      });
      const body = await expectProblem(res, 415, 'unsupported-media-type');
      expect(body.detail).to.include('application/json');
    });

    it('answers 413 for a body over the configured limit', async () => {
      const res = await t.fetch('/widgets/1?count=1', json({ name: 'x'.repeat(5000), price: 1 }));
      await expectProblem(res, 413, 'content-too-large');
      expect(await res.json()).to.include({
        status: 413,
        type: '/problems/content-too-large',
        title: 'Content too large',
      });
    });

    it('reads URL-encoded forms and validates them with the same schemas', async () => {
      const form = (body: string): RequestInit => ({
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      const ok = await t.fetch('/forms', form('username=a%40example.com'));
      expect(ok.status).to.equal(200);
      expect(await ok.json()).to.have.deep.property('body', { username: 'a@example.com' });
      const bad = await t.fetch('/forms', form('username=nope&other=1'));
      const body = await expectProblem(bad, 422, 'validation-failed');
      expect(body.errors?.map((e) => `${e.path} ${e.keyword}`)).to.have.members([
        '/username format',
        '/other additionalProperties',
      ]);
    });
  });

  describe('security and x-roles', () => {
    it('answers 401 before looking at the input when no credentials are sent', async () => {
      const res = await t.fetch('/admin-only', json({ n: 'not a number' }));
      await expectProblem(res, 401, 'unauthorized');
      expect(res.headers.get('www-authenticate')).to.equal('ApiKey');
    });

    it('does not read the body of a caller who is not allowed in', async () => {
      const big = JSON.stringify({ n: 1, pad: 'x'.repeat(5000) });
      const anonymous = await t.fetch('/admin-only', {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: big,
      });
      await expectProblem(anonymous, 401, 'unauthorized');
      const user = await t.fetch('/admin-only', json(big, { 'x-test-key': 'user-key' }));
      await expectProblem(user, 403, 'forbidden');
      const admin = await t.fetch('/admin-only', json(big, { 'x-test-key': 'admin-key' }));
      await expectProblem(admin, 413, 'content-too-large');
    });

    it('answers 403 for refused credentials and for a role x-roles does not list', async () => {
      expect((await t.fetch('/admin-only', json({ n: 1 }, { 'x-test-key': 'bogus' }))).status).to.equal(403);
      const user = await t.fetch('/admin-only', json({ n: 1 }, { 'x-test-key': 'user-key' }));
      await expectProblem(user, 403, 'forbidden');
      expect(await user.json()).to.include({ detail: 'Your role may not call this operation.' });
    });

    it('answers 500, not 401, when a security handler fails for another reason', async () => {
      const res = await t.fetch('/admin-only', json({ n: 1 }, { 'x-test-key': 'broken-key' }));
      await expectProblem(res, 500, 'internal-error');
      expect(await res.text()).to.not.include('token store');
    });

    it('hands the principal to the handler when the role is allowed', async () => {
      const res = await t.fetch('/admin-only', json({ n: 1 }, { 'x-test-key': 'admin-key' }));
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ role: 'admin' });
    });
  });

  describe('routing', () => {
    it("never uses openapi-backend's own router, which rebuilds every route on every request", async () => {
      // Patching the prototype on purpose, to count calls; `this` is passed through.
      // eslint-disable-next-line @typescript-eslint/unbound-method
      const original = OpenAPIRouter.prototype.matchOperation;
      let calls = 0;
      OpenAPIRouter.prototype.matchOperation = function (this: OpenAPIRouter, ...args: never[]) {
        calls += 1;
        return (original as (...a: never[]) => unknown).apply(this, args);
      } as typeof original;
      try {
        const fresh = await startApp({}, { spec: fixture, handlers, security });
        try {
          expect((await fresh.fetch('/widgets/7?count=1', json({ name: 'a', price: 1 }))).status).to.equal(
            201,
          );
          expect((await fresh.fetch('/nope')).status).to.equal(404);
          expect((await fresh.fetch('/bad', { method: 'DELETE' })).status).to.equal(405);
        } finally {
          await fresh.close();
        }
      } finally {
        OpenAPIRouter.prototype.matchOperation = original;
      }
      expect(calls).to.equal(0);
    });
  });

  describe('response validation', () => {
    it('answers 500 instead of a body that breaks its schema, and logs why', async () => {
      const res = await t.fetch('/bad');
      const body = await expectProblem(res, 500, 'internal-error');
      expect(await res.text()).to.not.include('must not leak');
      expect(body.request_id).to.equal(res.headers.get('x-request-id'));
      const line = t.logs.find(
        (l) => l.msg === 'response does not match the contract' && l['reqId'] === body.request_id,
      );
      expect(line).to.include({ operationId: 'badResponse', status: 200 });
      expect(line?.['problems']).to.include.members([
        '/name must be string',
        '/secret is not an allowed property',
      ]);
    });

    it('answers 500 for a status the operation does not declare', async () => {
      const res = await t.fetch('/undeclared');
      await expectProblem(res, 500, 'internal-error');
      expect(await res.json()).to.not.have.property('teapot');
    });

    it('passes on a problem the handler raises with a status and type its operation declares', async () => {
      const res = await t.fetch('/raises/declared');
      await expectProblem(res, 409, 'email-taken');
      const requestId = res.headers.get('x-request-id');
      expect(t.logs.some((l) => l['reqId'] === requestId && l.msg === 'response does not match the contract'))
        .to.be.false;
    });

    it('answers 500, and logs why, when a handler raises a status its operation does not declare', async () => {
      const res = await t.fetch('/raises/undeclared-status');
      const body = await expectProblem(res, 500, 'internal-error');
      expect(body).to.include({ type: '/problems/internal-error', detail: 'An unexpected error occurred.' });
      const line = t.logs.find(
        (l) => l.msg === 'response does not match the contract' && l['reqId'] === body.request_id,
      );
      expect(line).to.include({ operationId: 'raisesProblem', status: 416 });
      expect(line?.['problems']).to.deep.equal(['status 416 is not declared']);
    });

    it('answers 500 when a handler raises a problem type its operation does not list for that status', async () => {
      const res = await t.fetch('/raises/undeclared-type');
      const body = await expectProblem(res, 500, 'internal-error');
      const line = t.logs.find(
        (l) => l.msg === 'response does not match the contract' && l['reqId'] === body.request_id,
      );
      expect(line).to.include({ operationId: 'raisesProblem', status: 409 });
    });

    it('answers 500 without internals when a handler throws', async () => {
      const res = await t.fetch('/throws');
      await expectProblem(res, 500, 'internal-error');
      const text = await res.text();
      expect(text).to.not.match(/10\.0\.0\.7|password|Error:|at /);
      expect(JSON.parse(text)).to.include({ detail: 'An unexpected error occurred.' });
    });

    it('lets the bad body through with a log line when RESPONSE_VALIDATION=log', async () => {
      const lenient = await startApp({ RESPONSE_VALIDATION: 'log' }, { spec: fixture, handlers, security });
      try {
        const res = await lenient.fetch('/bad');
        expect(res.status).to.equal(200);
        expect(await res.json()).to.deep.equal({ name: 42, secret: 'must not leak' });
        expect(lenient.logs.some((l) => l.msg === 'response does not match the contract')).to.be.true;
      } finally {
        await lenient.close();
      }
    });
  });

  describe('handler timeout', () => {
    it('answers 503 when a handler takes longer than HANDLER_TIMEOUT_MS, and logs the late reply', async () => {
      let finish: () => void = () => undefined;
      const slow: AnyHandler = () =>
        new Promise((resolve) => {
          finish = () => resolve({ status: 200, body: { name: 'late' } });
        });
      const timed = await startApp(
        { HANDLER_TIMEOUT_MS: '200' },
        { spec: fixture, handlers: { ...handlers, badResponse: slow }, security },
      );
      try {
        const started = Date.now();
        const res = await timed.fetch('/bad');
        const body = await expectProblem(res, 503, 'handler-timeout');
        expect(Date.now() - started).to.be.below(5000);
        expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
        expect(body.detail).to.match(/too long/);
        finish();
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(
          timed.logs.some((l) => l.msg === 'a handler finished after its timeout; its reply was dropped'),
        ).to.be.true;
      } finally {
        await timed.close();
      }
    });
  });

  describe('pipeline hooks', () => {
    it('runs hooks before security and before the handler, for every operation', async () => {
      const seen: string[] = [];
      const hooked = await startApp(
        {},
        {
          spec: fixture,
          handlers,
          security,
          hooks: {
            beforeSecurity: [
              (exchange) => {
                seen.push(`before security ${exchange.operation.operationId} ${exchange.principal?.role}`);
                if (exchange.req.headers['x-too-many'] !== undefined)
                  throw new ApiError('rate-limited', 'Slow down.', { headers: { 'Retry-After': '7' } });
              },
            ],
            beforeHandler: [
              async (exchange) => {
                await Promise.resolve();
                seen.push(`before handler ${exchange.operation.operationId} ${exchange.principal?.role}`);
              },
            ],
          },
        },
      );
      try {
        const limited = await hooked.fetch('/admin-only', json({ n: 1 }, { 'x-too-many': '1' }));
        await expectProblem(limited, 429, 'rate-limited');
        expect(limited.headers.get('retry-after')).to.equal('7');
        expect(limited.headers.get('content-type')).to.match(/^application\/problem\+json/);
        const allowed = await hooked.fetch('/admin-only', json({ n: 1 }, { 'x-test-key': 'admin-key' }));
        expect(allowed.status).to.equal(200);
        expect(seen).to.deep.equal([
          'before security adminOnly undefined',
          'before security adminOnly undefined',
          'before handler adminOnly admin',
        ]);
      } finally {
        await hooked.close();
      }
    });
  });
});
