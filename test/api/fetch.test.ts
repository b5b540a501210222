/** fetchMultiple: parallel, ordered, bounded, and guarded against SSRF. Local servers only. */
import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';
import { addressPolicy, unmapIpv4 } from '../../src/fetch/address-policy.js';
import { nestedDeeperThan, representable } from '../../src/fetch/guarded-fetch.js';
import { resetDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { startServer } from '../helpers/http-servers.js';
import type { CountingServer } from '../helpers/http-servers.js';
import { bearer, postJson, seedUser, tokenFor, violations } from '../helpers/users.js';
import type { components } from '../../generated/openapi.js';
import { expectProblem } from '../helpers/problems.js';
import { expectAnswer } from '../helpers/client.js';

type Result = components['schemas']['FetchResult'];
type FetchRequest = components['schemas']['FetchRequest'];
/** A body as the contract has it: timeout_ms may be left out (it defaults to 5000). */
type FetchBody = Omit<FetchRequest, 'timeout_ms'> & Partial<Pick<FetchRequest, 'timeout_ms'>>;

/**
 * POST /fetch-multiple through the typed client. The generated type requires timeout_ms
 * because it has a default, but the contract lets a client leave it out, and most tests
 * here do: the body goes out exactly as given.
 */
const postFetch = (app: TestApp, body: FetchBody, headers: Record<string, string> = {}) =>
  app.api.POST('/fetch-multiple', {
    body: { timeout_ms: 5000, ...body },
    bodySerializer: () => JSON.stringify(body),
    headers,
  });

/** Loopback is refused unless allowed: these tests allow it explicitly, as an operator would. */
const LOCAL = {
  FETCH_ALLOWED_HOSTS: '127.0.0.1',
  FETCH_ALLOWED_CIDRS: '127.0.0.0/8',
  FETCH_MAX_BYTES: '1000',
};

describe('fetchMultiple', () => {
  let t: TestApp;
  let server: CountingServer;
  let other: CountingServer;
  let headers: Record<string, string>;

  before(async () => {
    t = await startApp(LOCAL);
    server = await startServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const delay = Number(url.searchParams.get('delay') ?? 0);
      setTimeout(() => {
        if (url.pathname === '/json') {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ path: url.pathname, delay }));
        } else if (url.pathname === '/text') {
          res.setHeader('content-type', 'text/plain');
          res.end('plain words');
        } else if (url.pathname === '/big') {
          res.end('x'.repeat(5000));
        } else if (url.pathname === '/big-chunked') {
          // No Content-Length: the cap must hold while streaming.
          for (let i = 0; i < 50; i += 1) res.write('y'.repeat(100));
          res.end();
        } else if (url.pathname === '/missing') {
          res.statusCode = 404;
          res.setHeader('content-type', 'application/json');
          res.end('{"detail":"Not Found"}');
        } else if (url.pathname === '/empty') {
          res.statusCode = 204;
          res.setHeader('content-type', 'application/json');
          res.end();
        } else if (url.pathname === '/broken-json') {
          res.setHeader('content-type', 'application/json');
          res.end('{"half":');
        } else if (url.pathname === '/redirect') {
          res.statusCode = 302;
          res.setHeader('location', url.searchParams.get('to') ?? '/');
          res.end();
        } else {
          res.statusCode = 500;
          res.end();
        }
      }, delay);
    });
    other = await startServer((_req, res) => res.end('should never be reached'));
  });
  after(async () => {
    await Promise.all([t.close(), server.close(), other.close()]);
  });
  beforeEach(async () => {
    await resetDatabase();
    headers = bearer(tokenFor(t, (await seedUser()).id));
    server.connections = 0;
    other.connections = 0;
  });

  const fetchMultiple = async (body: FetchBody, app: TestApp = t): Promise<Result[]> =>
    expectAnswer(await postFetch(app, body, headers), 200).results;

  it('fetches in parallel: three 300 ms URLs take well under 900 ms, answered in input order', async () => {
    const urls = [0, 1, 2].map((i) => `${server.url}/json?delay=300&n=${i}`);
    const started = Date.now();
    const results = await fetchMultiple({ urls });
    const took = Date.now() - started;
    expect(results.map((r) => r.url)).to.deep.equal(urls);
    for (const r of results)
      expect(r).to.deep.include({ ok: true, status: 200, data: { path: '/json', delay: 300 } });
    // Sequential would be ≥ 900 ms; the margin is generous on a shared machine.
    expect(took).to.be.below(850);
  });

  it('gives a slow URL "Request timeout" and still answers the others, in order', async () => {
    const urls = [`${server.url}/json?delay=3000`, `${server.url}/text`, `${server.url}/missing`];
    const results = await fetchMultiple({ urls, timeout_ms: 300 });
    expect(results[0]).to.include({ url: urls[0], ok: false, error: 'Request timeout' });
    expect(results[0]?.elapsed_ms).to.be.within(250, 2500);
    expect(results[1]).to.deep.include({ ok: true, status: 200, data: 'plain words' });
    expect(results[2]).to.deep.include({ ok: false, status: 404, data: { detail: 'Not Found' } });
  });

  it('answers an empty body without data and invalid JSON with an error', async () => {
    const results = await fetchMultiple({ urls: [`${server.url}/empty`, `${server.url}/broken-json`] });
    expect(results[0]).to.deep.include({ ok: true, status: 204 });
    expect(results[0]).to.not.have.property('data');
    expect(results[1]).to.include({ ok: false, status: 200, error: 'Response is not valid JSON' });
  });

  it('reports a refused connection for that URL only', async () => {
    const closed = await startServer((_req, res) => res.end());
    await closed.close();
    const results = await fetchMultiple({ urls: [`http://127.0.0.1:${closed.port}/`, `${server.url}/text`] });
    expect(results[0]).to.include({ ok: false, error: 'Connection refused' });
    expect(results[1]).to.include({ ok: true });
  });

  it('refuses a body over FETCH_MAX_BYTES, declared or streamed', async () => {
    const results = await fetchMultiple({ urls: [`${server.url}/big`, `${server.url}/big-chunked`] });
    for (const r of results) expect(r).to.include({ ok: false, status: 200, error: 'Response too large' });
  });

  it('refuses a host that is not allowed, without connecting', async () => {
    const results = await fetchMultiple({ urls: [`http://localhost:${other.port}/`, `${server.url}/text`] });
    expect(results[0]).to.include({ ok: false, error: 'Host not allowed' });
    expect(results[1]).to.include({ ok: true });
    expect(other.connections).to.equal(0);
  });

  it('does not follow a redirect to a host that is not allowed', async () => {
    const to = `http://localhost:${other.port}/`;
    const results = await fetchMultiple({ urls: [`${server.url}/redirect?to=${encodeURIComponent(to)}`] });
    expect(results[0]).to.include({ ok: false, status: 302, error: 'Redirect not followed' });
    expect(other.connections).to.equal(0);
    expect(server.connections).to.equal(1);
  });

  it('checks the address a name resolves to at connect time: loopback is refused unless allowed', async () => {
    const strict = await startApp({ FETCH_ALLOWED_HOSTS: 'localhost,127.0.0.1,[::1],::1' });
    try {
      const urls = [
        `http://localhost:${other.port}/`,
        `http://127.0.0.1:${other.port}/`,
        `http://[::1]:${other.port}/`,
      ];
      const results = await fetchMultiple({ urls }, strict);
      for (const r of results) expect(r).to.include({ ok: false, error: 'Address not allowed' });
      expect(other.connections).to.equal(0);
    } finally {
      await strict.close();
    }
  });

  it('fetches nothing when FETCH_ALLOWED_HOSTS is empty', async () => {
    const closed = await startApp({});
    try {
      const results = await fetchMultiple({ urls: [`${server.url}/text`] }, closed);
      expect(results[0]).to.include({ ok: false, error: 'Host not allowed' });
      expect(server.connections).to.equal(0);
    } finally {
      await closed.close();
    }
  });

  it('answers 422 for other schemes and bad bodies, from the schema', async () => {
    const check = async (body: unknown): Promise<string[]> =>
      violations(await postJson(t, '/fetch-multiple', body, headers));
    expect(await check({ urls: ['file:///etc/passwd'] })).to.deep.equal(['body /urls/0 pattern']);
    expect(await check({ urls: ['gopher://127.0.0.1:70/'] })).to.deep.equal(['body /urls/0 pattern']);
    expect(await check({ urls: [] })).to.deep.equal(['body /urls minItems']);
    expect(await check({ urls: Array.from({ length: 11 }, () => server.url) })).to.deep.equal([
      'body /urls maxItems',
    ]);
    expect(await check({ urls: [server.url], timeout_ms: 50 })).to.deep.equal(['body /timeout_ms minimum']);
    expect(server.connections).to.equal(0);
  });

  it('needs a signed-in caller', async () => {
    const res = await postFetch(t, { urls: [server.url] });
    await expectProblem(res, 401, 'unauthorized');
  });

  describe('configuration', () => {
    it('rejects a malformed FETCH_ALLOWED_CIDRS entry, naming the variable', () => {
      for (const bad of ['127.0.0.1', '10.0.0.0/33', 'fd00::/129', 'example.com/8']) {
        expect(() => loadConfig({ FETCH_ALLOWED_CIDRS: bad }), bad).to.throw(/FETCH_ALLOWED_CIDRS/);
      }
      expect(loadConfig({ FETCH_ALLOWED_CIDRS: '10.0.0.0/8, ::1/128' }).fetch.allowedCidrs).to.deep.equal([
        '10.0.0.0/8',
        '::1/128',
      ]);
    });
  });

  describe('address policy', () => {
    const refuse = addressPolicy([]);
    it('refuses loopback, private, link-local, metadata and unspecified addresses, v4 and v6', () => {
      const refused = [
        '127.0.0.1',
        '10.0.0.5',
        '172.16.3.4',
        '192.168.1.1',
        '169.254.169.254',
        '0.0.0.0',
        '100.64.0.1',
      ];
      const refused6 = [
        '::1',
        '::',
        'fe80::1',
        'fd00:ec2::254',
        'fc00::1',
        '::ffff:127.0.0.1',
        '::ffff:a9fe:a9fe',
        '64:ff9b::a00:1',
      ];
      for (const address of [...refused, ...refused6]) expect(refuse(address), address).to.equal(false);
      for (const address of ['93.184.216.34', '2606:4700::1111', '::ffff:8.8.8.8'])
        expect(refuse(address), address).to.equal(true);
    });
    it('allows what FETCH_ALLOWED_CIDRS names, mapped addresses included', () => {
      const allow = addressPolicy(['127.0.0.0/8']);
      expect(allow('127.0.0.2')).to.equal(true);
      expect(allow('::ffff:127.0.0.1')).to.equal(true);
      expect(allow('::1')).to.equal(false);
      expect(allow('10.0.0.1')).to.equal(false);
    });
    it('reads IPv4-mapped IPv6 in both notations', () => {
      expect(unmapIpv4('::ffff:10.1.2.3')).to.equal('10.1.2.3');
      expect(unmapIpv4('0:0:0:0:0:ffff:a01:203')).to.equal('10.1.2.3');
      expect(unmapIpv4('::1')).to.equal(undefined);
    });
  });
});

describe('fetchMultiple: one URL never fails the batch', () => {
  let t: TestApp;
  let server: CountingServer;
  let headers: Record<string, string>;
  const hanging = new Set<NodeJS.Timeout>();

  before(async () => {
    // A short handler timeout keeps the deadline tests short.
    t = await startApp({ ...LOCAL, FETCH_MAX_BYTES: '100000', HANDLER_TIMEOUT_MS: '3000' });
    server = await startServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/deep') {
        res.setHeader('content-type', 'application/json');
        res.end('['.repeat(5000) + ']'.repeat(5000));
      } else if (url.pathname === '/nested') {
        const depth = Number(url.searchParams.get('depth'));
        res.setHeader('content-type', 'application/json');
        res.end('{"a":'.repeat(depth) + '1' + '}'.repeat(depth));
      } else if (url.pathname === '/odd-status') {
        res.statusCode = 999;
        res.end('odd');
      } else if (url.pathname === '/hang') {
        // Headers are never sent; the test server's close() ends the socket.
        hanging.add(setTimeout(() => res.end('late'), 60_000));
      } else {
        res.setHeader('content-type', 'application/json');
        res.end('{"good":true}');
      }
    });
  });
  after(async () => {
    for (const timer of hanging) clearTimeout(timer);
    await Promise.all([t.close(), server.close()]);
  });
  beforeEach(async () => {
    await resetDatabase();
    headers = bearer(tokenFor(t, (await seedUser()).id));
  });

  const fetchMultiple = async (body: FetchBody): Promise<Result[]> =>
    expectAnswer(await postFetch(t, body, headers), 200).results;

  it('answers JSON nested 5,000 levels deep as an error for that URL and keeps the others', async () => {
    const urls = [`${server.url}/good`, `${server.url}/deep`, `${server.url}/good?n=2`];
    const results = await fetchMultiple({ urls });
    expect(results[0]).to.deep.include({ ok: true, status: 200, data: { good: true } });
    expect(results[1]).to.include({
      url: urls[1],
      ok: false,
      status: 200,
      error: 'Response nested too deeply',
    });
    expect(results[1]).to.not.have.property('data');
    expect(results[2]).to.deep.include({ ok: true, status: 200, data: { good: true } });
  });

  it('accepts nesting up to FETCH_MAX_JSON_DEPTH and refuses one level more', async () => {
    const results = await fetchMultiple({
      urls: [`${server.url}/nested?depth=64`, `${server.url}/nested?depth=65`],
    });
    expect(results[0]).to.include({ ok: true, status: 200 });
    expect(results[1]).to.include({ ok: false, error: 'Response nested too deeply' });
  });

  it('answers a result the contract cannot represent (status 999) as an error for that URL', async () => {
    const urls = [`${server.url}/odd-status`, `${server.url}/good`];
    const results = await fetchMultiple({ urls });
    expect(results[0]).to.deep.equal({
      url: urls[0],
      ok: false,
      error: 'Response cannot be represented',
      elapsed_ms: results[0]?.elapsed_ms,
    });
    expect(results[1]).to.deep.include({ ok: true, data: { good: true } });
  });

  it('answers ten slow URLs with ten timeouts in a 200 before the handler timeout', async () => {
    const urls = Array.from({ length: 10 }, (_, i) => `${server.url}/hang?n=${i}`);
    const results = await fetchMultiple({ urls, timeout_ms: 10000 });
    expect(results.map((r) => r.url)).to.deep.equal(urls);
    for (const r of results) expect(r).to.include({ ok: false, error: 'Request timeout' });
    expect(
      results.some((r) => r.elapsed_ms === 0),
      'queued URLs never started',
    ).to.equal(true);
  });
});

describe('fetch guards on remote data', () => {
  it('measures JSON nesting in one pass, ignoring brackets inside strings', () => {
    expect(nestedDeeperThan('[[1]]', 2)).to.equal(false);
    expect(nestedDeeperThan('[[[1]]]', 2)).to.equal(true);
    expect(nestedDeeperThan('{"a":"[[[[[[","b":"\\"[[[["}', 1)).to.equal(false);
    expect(nestedDeeperThan('['.repeat(1_000_000), 64)).to.equal(true);
  });
  it('turns an outcome JSON cannot write, or the schema refuses, into an error for that URL', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const base = { url: 'http://a/', ok: true, status: 200, elapsed_ms: 5 };
    const unrepresentable = {
      url: 'http://a/',
      ok: false,
      error: 'Response cannot be represented',
      elapsed_ms: 5,
    };
    expect(representable({ ...base, data: cyclic }, () => true)).to.deep.equal(unrepresentable);
    expect(representable({ ...base, data: 1n }, () => true)).to.deep.equal(unrepresentable);
    expect(representable(base, () => false)).to.deep.equal(unrepresentable);
    expect(representable(base, () => true)).to.equal(base);
  });
  it('keeps the batch deadline under HANDLER_TIMEOUT_MS, with none when there is no handler timeout', () => {
    expect(loadConfig({}).fetch.batchDeadlineMs).to.equal(18_000);
    expect(loadConfig({ HANDLER_TIMEOUT_MS: '3000' }).fetch.batchDeadlineMs).to.equal(2250);
    expect(loadConfig({ HANDLER_TIMEOUT_MS: '0' }).fetch.batchDeadlineMs).to.equal(0);
    expect(loadConfig({}).fetch.maxJsonDepth).to.equal(64);
    expect(() => loadConfig({ FETCH_MAX_JSON_DEPTH: '5000' })).to.throw(/FETCH_MAX_JSON_DEPTH/);
  });
});
