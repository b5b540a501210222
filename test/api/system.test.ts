import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { parse } from 'yaml';
import { startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { expectProblem } from '../helpers/problems.js';
import { expectAnswer } from '../helpers/client.js';

/**
 * The API key in the `token` query parameter (the ApiKeyQuery scheme). The generated types
 * leave security parameters out, so the client is given the query string itself.
 */
const tokenInQuery = (key: string) => ({
  querySerializer: () => new URLSearchParams({ token: key }).toString(),
});

describe('system operations', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ API_KEYS: 'first-key, second-key' });
  });
  after(async () => {
    await t.close();
  });

  describe('getRoot', () => {
    it('says hello', async () => {
      const res = await t.api.GET('/');
      expect(expectAnswer(res, 200)).to.deep.equal({ message: 'Hello World' });
      expect(res.response.headers.get('content-type')).to.match(/^application\/json/);
    });
  });

  describe('getHealth', () => {
    it('answers healthy with request id and process time headers', async () => {
      const { data, response } = await t.api.GET('/health');
      expect(response.status).to.equal(200);
      expect(data).to.deep.equal({ status: 'healthy' });
      expect(response.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
      expect(response.headers.get('x-process-time')).to.match(/^\d+\.\d+$/);
    });

    it('echoes a sane X-Request-ID and replaces one that is not', async () => {
      const sane = await t.api.GET('/health', { headers: { 'X-Request-ID': 'trace-123.abc' } });
      expect(sane.response.headers.get('x-request-id')).to.equal('trace-123.abc');
      const insane = await t.fetch('/health', { headers: { 'X-Request-ID': 'x'.repeat(200) } });
      expect(insane.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
      const injected = await t.fetch('/health', { headers: { 'X-Request-ID': 'a b<script>' } });
      expect(injected.headers.get('x-request-id')).to.not.equal('a b<script>');
    });

    it('treats a trailing slash as the same path, as the guide does', async () => {
      expect((await t.fetch('/health/')).status).to.equal(200);
    });

    it('logs one line per request with id, operation, status and duration', async () => {
      await t.api.GET('/health', { headers: { 'X-Request-ID': 'log-line-check' } });
      const line = t.logs.find((entry) => entry['reqId'] === 'log-line-check' && entry.msg === 'request');
      expect(line).to.include({ operationId: 'getHealth', status: 200, method: 'GET', path: '/health' });
      expect(line?.['durationMs']).to.be.a('number');
    });
  });

  describe('getReadiness', () => {
    it('is ready when the database answers', async () => {
      const res = await t.api.GET('/health/ready');
      expect(expectAnswer(res, 200)).to.deep.equal({ status: 'ready', checks: { database: 'ok' } });
    });

    it('answers 503 when the database does not', async () => {
      // Nothing listens on port 1: the pool fails to connect at once.
      const down = await startApp({
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
        MIGRATE_ON_START: 'false',
      });
      try {
        const res = await down.api.GET('/health/ready');
        const problem = await expectProblem(res, 503, 'database-unavailable');
        expect(res.response.headers.get('content-type')).to.match(/^application\/problem\+json/);
        expect(problem).to.include({
          status: 503,
          type: '/problems/database-unavailable',
          title: 'Database unavailable',
        });
        // Liveness does not depend on the database.
        expect((await down.api.GET('/health')).response.status).to.equal(200);
      } finally {
        await down.close();
      }
    });
  });

  describe('getProtected', () => {
    it('answers 401 with WWW-Authenticate when no key is sent', async () => {
      const res = await t.api.GET('/protected');
      const problem = await expectProblem(res, 401, 'unauthorized');
      expect(res.response.headers.get('www-authenticate')).to.equal('ApiKey');
      expect(problem).to.include({
        status: 401,
        type: '/problems/unauthorized',
        title: 'Authentication required',
      });
    });

    it('answers 403 for a wrong key, in the header or the query', async () => {
      const header = await t.api.GET('/protected', { headers: { 'X-API-Key': 'nope' } });
      expect(await expectProblem(header, 403, 'forbidden')).to.include({ detail: 'Invalid token' });
      expect((await t.api.GET('/protected', tokenInQuery('nope'))).response.status).to.equal(403);
    });

    it("grants access with a configured key in the header or the guide's token query", async () => {
      const header = await t.api.GET('/protected', { headers: { 'X-API-Key': 'second-key' } });
      expect(expectAnswer(header, 200)).to.deep.equal({ message: 'Access granted' });
      const query = await t.api.GET('/protected', tokenInQuery('first-key'));
      expect(query.response.status).to.equal(200);
    });

    it('accepts no key at all when none are configured', async () => {
      const closed = await startApp({});
      try {
        expect((await closed.api.GET('/protected', tokenInQuery('first-key'))).response.status).to.equal(403);
      } finally {
        await closed.close();
      }
    });
  });

  describe('unknown paths and methods', () => {
    it('answers 404 problem+json for an unknown path', async () => {
      const res = await t.fetch('/nope');
      const body = await expectProblem(res, 404, 'route-not-found');
      expect(res.headers.get('content-type')).to.match(/^application\/problem\+json/);
      expect(body).to.include({
        type: '/problems/route-not-found',
        title: 'No such operation',
        status: 404,
        instance: '/nope',
      });
      expect(body).to.not.have.property('stack');
    });

    it('answers 405 with Allow for a method the path does not have', async () => {
      const res = await t.fetch('/health', { method: 'DELETE' });
      const body = await expectProblem(res, 405, 'method-not-allowed');
      expect(res.headers.get('allow')).to.equal('GET, HEAD, OPTIONS');
      expect(body).to.include({
        status: 405,
        type: '/problems/method-not-allowed',
        title: 'Method not allowed',
      });
    });

    it('answers 400 for a path that is not validly percent-encoded', async () => {
      const res = await t.fetch('/health/%E0%A4%A');
      await expectProblem(res, 400, 'malformed-path');
    });
  });

  describe('CORS', () => {
    it('sends no CORS headers unless origins are configured', async () => {
      const res = await t.api.GET('/health', { headers: { Origin: 'https://app.example' } });
      expect(res.response.headers.get('access-control-allow-origin')).to.equal(null);
      const preflight = await t.fetch('/health', {
        method: 'OPTIONS',
        headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET' },
      });
      // Answered as any OPTIONS (204 with Allow), without the headers that would let a browser go on.
      expect(preflight.status).to.equal(204);
      expect(preflight.headers.get('allow')).to.equal('GET, HEAD, OPTIONS');
      expect(preflight.headers.get('access-control-allow-origin')).to.equal(null);
    });

    it('answers preflights and exposes the pipeline headers for a configured origin', async () => {
      const open = await startApp({ CORS_ORIGINS: 'https://app.example' });
      try {
        const preflight = await open.fetch('/health', {
          method: 'OPTIONS',
          headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET' },
        });
        expect(preflight.status).to.equal(204);
        expect(preflight.headers.get('access-control-allow-origin')).to.equal('https://app.example');
        const res = await open.api.GET('/health', { headers: { Origin: 'https://app.example' } });
        expect(res.response.headers.get('access-control-expose-headers')).to.include('X-Request-ID');
        const other = await open.api.GET('/health', { headers: { Origin: 'https://evil.example' } });
        expect(other.response.headers.get('access-control-allow-origin')).to.equal(null);
      } finally {
        await open.close();
      }
    });
  });

  describe('served contract and docs', () => {
    const bundled: unknown = JSON.parse(
      readFileSync(new URL('../../generated/openapi.json', import.meta.url), 'utf8'),
    );

    it('serves the bundled contract as JSON and YAML', async () => {
      const json = await t.fetch('/openapi.json');
      expect(json.status).to.equal(200);
      expect(await json.json()).to.deep.equal(bundled);
      const yaml = await t.fetch('/openapi.yaml');
      expect(yaml.headers.get('content-type')).to.match(/yaml/);
      expect(parse(await yaml.text())).to.deep.equal(bundled);
    });

    it('serves Swagger UI and Redoc from local assets, with no CDN', async () => {
      for (const page of ['/docs', '/redoc']) {
        const res = await t.fetch(page);
        expect(res.status).to.equal(200);
        const html = await res.text();
        expect(html).to.not.match(/https?:\/\//);
        for (const [, src] of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
          const asset = await t.fetch(src ?? '');
          expect(asset.status, src).to.equal(200);
          await asset.arrayBuffer();
        }
      }
    });
  });
});
