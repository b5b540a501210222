import { expect } from 'chai';
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { createMetrics } from '../../src/metrics.js';

/** The lines of one metric family (HELP, TYPE and samples) in a text exposition. */
function family(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(name) || line.includes(` ${name} `));
}

/** Sorted, so the order series were first seen in does not matter. */
const sorted = (lines: string[]): string[] => [...lines].sort();

/** Requests as (operation, method, status, seconds), the durations spread over every bucket and past the last. */
const REQUESTS: readonly [string | undefined, string, number, number][] = [
  ['getHealth', 'GET', 200, 0.0004],
  ['getHealth', 'GET', 200, 0.001],
  ['getHealth', 'GET', 200, 0.0011],
  ['getHealth', 'HEAD', 200, 0.003],
  ['getCurrentUser', 'GET', 200, 0.007],
  ['getCurrentUser', 'GET', 401, 0.02],
  ['getCurrentUser', 'GET', 304, 0.04],
  ['createOrder', 'POST', 201, 0.09],
  ['createOrder', 'POST', 422, 0.2],
  ['createOrder', 'POST', 201, 0.4],
  ['createOrder', 'POST', 500, 0.9],
  ['createOrder', 'POST', 201, 2],
  ['uploadFile', 'POST', 201, 4],
  ['uploadFile', 'POST', 201, 9.5],
  ['uploadFile', 'POST', 201, 10],
  ['uploadFile', 'POST', 201, 42],
  [undefined, 'GET', 404, 0.0002],
];

/** The same two metrics kept by prom-client's own Counter and Histogram: what the exposition must match. */
function reference(requests: readonly (typeof REQUESTS)[number][] = REQUESTS): Registry {
  const registry = new Registry();
  const total = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by operationId, method and status.',
    labelNames: ['operation', 'method', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from the request arriving to the response finishing, by operationId.',
    labelNames: ['operation', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  for (const [operationId, method, status, seconds] of requests) {
    const operation = operationId ?? '(none)';
    total.inc({ operation, method, status: String(status) });
    duration.observe({ operation, method }, seconds);
  }
  return registry;
}

describe('request metrics', () => {
  it("expose the same counter and histogram as prom-client's own Counter and Histogram", async () => {
    const metrics = createMetrics({ processMetrics: false });
    for (const request of REQUESTS) metrics.observeRequest(...request);
    const ours = (await metrics.render()).body;
    const theirs = await reference().metrics();
    for (const name of ['http_requests_total', 'http_request_duration_seconds']) {
      expect(sorted(family(ours, name)), name).to.deep.equal(sorted(family(theirs, name)));
    }
  });

  it('add up across processes as prom-client aggregates a cluster', async () => {
    const first = createMetrics({ processMetrics: false });
    const second = createMetrics({ processMetrics: false });
    const halves = [REQUESTS.filter((_, i) => i % 2 === 0), REQUESTS.filter((_, i) => i % 2 === 1)];
    for (const request of halves[0] ?? []) first.observeRequest(...request);
    for (const request of halves[1] ?? []) second.observeRequest(...request);
    const aggregated = await AggregatorRegistry.aggregate([
      await first.registry.getMetricsAsJSON(),
      await second.registry.getMetricsAsJSON(),
    ]).metrics();
    // Each process's sum is added up as prom-client adds its own: same halves, same order.
    const theirs = await AggregatorRegistry.aggregate([
      await reference(halves[0]).getMetricsAsJSON(),
      await reference(halves[1]).getMetricsAsJSON(),
    ]).metrics();
    for (const name of ['http_requests_total', 'http_request_duration_seconds']) {
      expect(sorted(family(aggregated, name)), name).to.deep.equal(sorted(family(theirs, name)));
    }
  });

  it('start again from zero when the registry is reset', async () => {
    const metrics = createMetrics({ processMetrics: false });
    metrics.observeRequest('getHealth', 'GET', 200, 0.001);
    metrics.registry.resetMetrics();
    metrics.observeRequest('getHealth', 'GET', 200, 0.001);
    const { body } = await metrics.render();
    expect(body).to.include('http_requests_total{operation="getHealth",method="GET",status="200"} 1\n');
    expect(body).to.include('http_request_duration_seconds_count{operation="getHealth",method="GET"} 1\n');
  });
});
