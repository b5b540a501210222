/**
 * What every response carries for safety, and the Prometheus endpoint with its
 * three access modes.
 */
import { expect } from 'chai';
import { startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import { expectProblem } from '../helpers/problems.js';

describe('security headers', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(async () => {
    await t.close();
  });

  it('sends the protective headers on API answers, errors and unknown paths alike', async () => {
    const unknown = await t.fetch('/no/such/path');
    await unknown.arrayBuffer();
    const answers: [string, Response][] = [
      ['/health', (await t.api.GET('/health')).response],
      ['/users/me', (await t.api.GET('/users/me')).response],
      ['/no/such/path', unknown],
    ];
    for (const [path, res] of answers) {
      expect(res.headers.get('x-content-type-options'), path).to.equal('nosniff');
      expect(res.headers.get('x-frame-options'), path).to.equal('DENY');
      expect(res.headers.get('content-security-policy'), path).to.equal(
        "default-src 'none';frame-ancestors 'none'",
      );
      expect(res.headers.get('referrer-policy'), path).to.equal('no-referrer');
      expect(res.headers.get('strict-transport-security'), path).to.match(/^max-age=\d+/);
      expect(res.headers.get('cross-origin-resource-policy'), path).to.equal('same-origin');
      expect(res.headers.get('x-powered-by'), path).to.equal(null);
    }
  });

  it('lets the docs pages load their own scripts and styles, and nothing from elsewhere', async () => {
    const res = await t.fetch('/redoc');
    await res.arrayBuffer();
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).to.include("script-src 'self'");
    expect(csp).to.include('worker-src');
    expect(csp).to.not.include('*');
  });
});

describe('GET /metrics', () => {
  it('counts requests by operationId and status, and shows pool and process metrics', async () => {
    const t = await startApp({ METRICS_ACCESS: 'open' });
    try {
      for (let i = 0; i < 3; i++) await t.api.GET('/health');
      await t.api.GET('/users/me');
      await (await t.fetch('/items?limit=0')).arrayBuffer();
      await (await t.fetch('/no/such/path')).arrayBuffer();
      const res = await t.fetch('/metrics');
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      expect(text).to.include('http_requests_total{operation="getHealth",method="GET",status="200"} 3');
      expect(text).to.include('http_requests_total{operation="getCurrentUser",method="GET",status="401"} 1');
      expect(text).to.include('http_request_validation_failures_total{operation="listItems"} 1');
      // Unknown paths are one series, not one per path.
      expect(text).to.include('http_requests_total{operation="(none)",method="GET",status="404"} 1');
      expect(text).to.not.include('/no/such/path');
      expect(text).to.match(
        /http_request_duration_seconds_bucket\{le="0.1",operation="getHealth",method="GET"\} 3/,
      );
      expect(text).to.match(/db_pool_connections\{state="idle"\} \d+/);
      expect(text).to.include('nodejs_eventloop_lag_seconds');
      expect(text).to.match(/^jobs\{status="queued"\} \d+$/m);
      expect(text).to.include('websocket_connections 0');
    } finally {
      await t.close();
    }
  });

  it('needs a key from API_KEYS when METRICS_ACCESS=apikey', async () => {
    const t = await startApp({ METRICS_ACCESS: 'apikey', API_KEYS: 'scraper-key' });
    try {
      const none = await t.fetch('/metrics');
      await expectProblem(none, 401, 'unauthorized');
      expect(none.headers.get('content-type')).to.match(/^application\/problem\+json/);
      await none.arrayBuffer();
      const wrong = await t.fetch('/metrics', { headers: { Authorization: 'Bearer nope' } });
      await expectProblem(wrong, 403, 'forbidden');
      await wrong.arrayBuffer();
      const bearer = await t.fetch('/metrics', { headers: { Authorization: 'Bearer scraper-key' } });
      expect(bearer.status).to.equal(200);
      expect(await bearer.text()).to.include('http_requests_total');
      const header = await t.fetch('/metrics', { headers: { 'X-API-Key': 'scraper-key' } });
      expect(header.status).to.equal(200);
      await header.arrayBuffer();
    } finally {
      await t.close();
    }
  });

  it('does not exist when METRICS_ACCESS=off', async () => {
    const t = await startApp({ METRICS_ACCESS: 'off' });
    try {
      const res = await t.fetch('/metrics');
      await expectProblem(res, 404, 'route-not-found');
      await res.arrayBuffer();
    } finally {
      await t.close();
    }
  });
});
