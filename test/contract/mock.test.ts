/**
 * `npm run mock`: every operation answers from the contract's examples, with a
 * body that matches the declared schema; `Prefer: code=N` / `example=name`
 * pick that operation's examples; problems name the request's own path; and
 * requests are checked by the server's own code, so a bad request gets the
 * same 4xx from the mock as from the real server.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { loadContract } from '../../scripts/contract/document.js';
import type { Contract } from '../../scripts/contract/document.js';
import { checkDeclared } from '../../scripts/contract/checks.js';
import { send, toWire } from '../../scripts/contract/http.js';
import type { WireRequest, WireResponse } from '../../scripts/contract/http.js';
import { createMockServer } from '../../scripts/contract/mock.js';
import type { OperationSpec } from '../../src/contract/spec.js';
import { startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { bearer, seedUser, tokenFor } from '../helpers/users.js';

/** The settings the test apps run with (test/helpers/app.ts), so mock and server are configured alike. */
const ENV = { RESPONSE_VALIDATION: 'enforce', RATE_LIMIT_FACTOR: '0', API_KEYS: 'mock-test-key' };
const CREDENTIALS = { authorization: 'Bearer any-token', 'x-api-key': 'mock-test-key' };

const json = (res: WireResponse): Record<string, unknown> =>
  JSON.parse(res.body.toString('utf8')) as Record<string, unknown>;

describe('mock mode (npm run mock)', () => {
  let contract: Contract;
  let server: Server;
  let base: string;
  before(async () => {
    contract = await loadContract(path.resolve(import.meta.dirname, '../../generated/openapi.json'));
    server = await createMockServer(contract, { env: ENV, log: pino({ level: 'silent' }) });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
  });

  const operation = (operationId: string): OperationSpec => {
    const op = contract.spec.byId.get(operationId);
    if (op === undefined) throw new Error(operationId);
    return op;
  };

  /** A valid request for the operation, from its examples. */
  const exampleRequest = (op: OperationSpec, headers: Record<string, string> = CREDENTIALS): WireRequest => {
    const values = (where: string): Record<string, unknown> =>
      Object.fromEntries(
        op.parameters
          .filter((p) => p.in === where && (where === 'path' || p.required))
          .map((p) => [p.name, p.example]),
      );
    const [mediaType, media] = [...(op.requestBody?.content.entries() ?? [])][0] ?? [];
    return toWire(
      contract,
      op,
      {
        path: values('path'),
        query: values('query'),
        header: values('header'),
        body: mediaType === undefined ? undefined : { mediaType, value: media?.example },
      },
      headers,
    );
  };

  it('answers every operation with its first 2xx, from the examples, as declared', async () => {
    for (const op of contract.spec.operations) {
      const request = exampleRequest(op);
      const res = await send(base, request);
      // WebSocket upgrades (101) cannot be mocked: they answer their declared 426.
      const success = [...op.responses.keys()].filter((s) => s >= 200 && s < 300).sort()[0] ?? 426;
      expect(res.status, `${op.operationId}: ${res.body.toString('utf8')}`).to.equal(success);
      expect(checkDeclared(contract, op, res, op.method.toUpperCase()), op.operationId).to.deep.equal([]);
      const [mediaType, media] = [...(op.responses.get(res.status)?.content.entries() ?? [])][0] ?? [];
      const example = media?.example;
      if (example === undefined) continue;
      if (mediaType === 'application/problem+json')
        expect(json(res), op.operationId).to.deep.equal({
          ...(example as object),
          instance: request.target.split('?')[0],
        });
      else if (mediaType !== undefined && /json/.test(mediaType))
        expect(json(res), op.operationId).to.deep.equal(example);
      else if (typeof example === 'string')
        expect(res.body.toString('utf8'), op.operationId).to.equal(example);
    }
  });

  it("gives each declared status of each operation that operation's own example with Prefer: code=N", async () => {
    for (const op of contract.spec.operations) {
      for (const [status, response] of op.responses) {
        if (status === 101) continue;
        const request = exampleRequest(op);
        const res = await send(base, {
          ...request,
          headers: { ...request.headers, prefer: `code=${status}` },
        });
        expect(res.status, `${op.operationId} ${status}`).to.equal(status);
        expect(res.headers.get('preference-applied'), op.operationId).to.equal(`code=${status}`);
        // A declared 5xx is what was asked for here, not a failure of the mock.
        const problems = checkDeclared(contract, op, res, op.method.toUpperCase()).filter(
          (problem) => !problem.startsWith('server error'),
        );
        expect(problems, `${op.operationId} ${status}`).to.deep.equal([]);
        const [mediaType, media] = [...response.content.entries()][0] ?? [];
        if (mediaType !== 'application/problem+json') continue;
        const example = media?.example as Record<string, unknown>;
        expect(json(res), `${op.operationId} ${status}`).to.deep.equal({
          ...example,
          instance: request.target.split('?')[0],
          ...(example['request_id'] === undefined ? {} : { request_id: res.headers.get('x-request-id') }),
        });
      }
    }
  });

  it('answers Prefer: code=404 on /items/5 with the item example, for /items/5', async () => {
    const res = await send(base, { method: 'GET', target: '/items/5', headers: { prefer: 'code=404' } });
    expect(res.status).to.equal(404);
    expect(json(res)).to.include({ status: 404, detail: 'Item not found', instance: '/items/5' });
  });

  it("names the request's own path in every problem (instance)", async () => {
    const res = await send(base, { method: 'GET', target: '/users/me', headers: {} });
    expect(res.status).to.equal(401);
    expect(json(res)).to.include({ instance: '/users/me' });
    const refused = await send(base, {
      method: 'GET',
      target: '/users/me',
      headers: { ...CREDENTIALS, prefer: 'code=500' },
    });
    expect(json(refused)).to.include({ instance: '/users/me' });
  });

  it('picks a named example with Prefer: example=name, of the status that has it', async () => {
    const op = operation('login');
    const request = exampleRequest(op, {});
    const res = await send(base, {
      ...request,
      headers: { ...request.headers, prefer: 'example=throttled' },
    });
    expect(res.status).to.equal(429);
    expect(json(res)).to.include({ detail: 'Too many failed logins; try again later.', instance: '/token' });
    expect(res.headers.get('preference-applied')).to.equal('example=throttled');
  });

  it('answers 501 naming what the operation declares when Prefer asks for what it does not', async () => {
    const code = await send(base, {
      method: 'GET',
      target: '/users/me',
      headers: { ...CREDENTIALS, prefer: 'code=404' },
    });
    expect(code.status).to.equal(501);
    expect(code.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(String(json(code)['detail'])).to.match(
      /getCurrentUser declares no 404 response \(it declares 200, /,
    );
    const example = await send(base, {
      method: 'GET',
      target: '/items/5',
      headers: { prefer: 'code=404, example=nope' },
    });
    expect(example.status).to.equal(501);
    expect(String(json(example)['detail'])).to.match(
      /getItem has no example named "nope" for 404 \(examples: 404: notFound\)/,
    );
  });

  it('answers 401 to a secured operation called without credentials, and 405 and OPTIONS with Allow', async () => {
    expect((await send(base, { method: 'GET', target: '/orders', headers: {} })).status).to.equal(401);
    const wrong = await send(base, { method: 'PUT', target: '/orders', headers: {} });
    expect(wrong.status).to.equal(405);
    expect(wrong.headers.get('allow')).to.equal('GET, HEAD, POST, OPTIONS');
    const options = await send(base, { method: 'OPTIONS', target: '/orders', headers: {} });
    expect(options.status).to.equal(204);
    expect(options.headers.get('allow')).to.equal('GET, HEAD, POST, OPTIONS');
    const head = await send(base, { method: 'HEAD', target: '/items/5', headers: {} });
    expect(head.status).to.equal(200);
    expect(head.body.length).to.equal(0);
    expect(Number(head.headers.get('content-length'))).to.be.above(0);
  });

  describe('validates requests as the server does', function () {
    // Starting a real app on a loaded machine (PGlite shares one connection) can take a while.
    this.timeout(90_000);
    let t: TestApp;
    let token: string;
    before(async () => {
      t = await startApp(ENV);
      const admin = await seedUser({ role: 'admin', email: `mock-compare-${randomUUID()}@example.com` });
      token = tokenFor(t, admin.id);
    });
    after(async () => {
      await t.close();
    });

    /** Status, media type and problem members that do not depend on the request id or timing. */
    const shape = (res: WireResponse): unknown => {
      const body = json(res);
      return {
        status: res.status,
        contentType: res.headers.get('content-type'),
        wwwAuthenticate: res.headers.get('www-authenticate'),
        allow: res.headers.get('allow'),
        body: { ...body, detail: typeof body['detail'] },
      };
    };
    const BAD: readonly (readonly [string, WireRequest])[] = [
      [
        'a body that breaks the schema (422)',
        {
          method: 'POST',
          target: '/items',
          headers: { 'content-type': 'application/json' },
          body: Buffer.from('{"name":"","price":"10","extra":1}'),
        },
      ],
      [
        'malformed JSON (400)',
        {
          method: 'POST',
          target: '/items',
          headers: { 'content-type': 'application/json' },
          body: Buffer.from('{"name":'),
        },
      ],
      [
        'an undeclared content type (415)',
        {
          method: 'POST',
          target: '/items',
          headers: { 'content-type': 'text/plain' },
          body: Buffer.from('x'),
        },
      ],
      ['a path parameter of the wrong type (422)', { method: 'GET', target: '/items/abc', headers: {} }],
      [
        'a query parameter out of range (422)',
        { method: 'GET', target: '/items?limit=1000&skip=-1', headers: {} },
      ],
      ['no credentials (401)', { method: 'GET', target: '/orders', headers: {} }],
      ['an undeclared method (405)', { method: 'DELETE', target: '/orders', headers: {} }],
      ['an unknown path (404)', { method: 'GET', target: '/nowhere', headers: {} }],
    ];
    for (const [name, request] of BAD) {
      it(name, async () => {
        const signed = name.startsWith('no credentials')
          ? request
          : { ...request, headers: { ...request.headers, ...bearer(token) } };
        const fromServer = await send(t.url, signed);
        // The mock takes any bearer token: the same request goes to both.
        const fromMock = await send(base, signed);
        expect(fromServer.status).to.be.within(400, 499);
        expect(shape(fromMock)).to.deep.equal(shape(fromServer));
      });
    }
  });
});
