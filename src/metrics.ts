/**
 * Prometheus metrics (prom-client), one registry per app instance: requests by
 * operation and status, latency, validation failures, the database pool, and
 * Node's own (event-loop lag, heap, GC). Other parts of the app (WebSockets,
 * jobs) add gauges through `gauge()`. Labels are operationIds, never raw
 * paths, so a client probing random URLs cannot blow up the series count.
 */
import cluster from 'node:cluster';
import { AggregatorRegistry, Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Metric } from 'prom-client';

/** Label used for requests that matched no operation of the contract. */
export const NO_OPERATION = '(none)';

export interface PoolStats {
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
}

export interface Metrics {
  readonly registry: Registry;
  /** One finished request. */
  observeRequest(operationId: string | undefined, method: string, status: number, seconds: number): void;
  /** A handler's reply that broke the contract (whatever RESPONSE_VALIDATION then did with it). */
  responseInvalid(operationId: string): void;
  /** A request that used a deprecated parameter or body property (`field`, as the contract names it). */
  deprecatedUse(operationId: string, field: string): void;
  /** A gauge read when scraped, e.g. open WebSocket connections. */
  gauge(name: string, help: string, read: () => number | Promise<number>): void;
  /** A gauge with one label, read when scraped, e.g. jobs by status. */
  labelledGauge(
    name: string,
    help: string,
    label: string,
    read: () => Promise<Readonly<Record<string, number>>>,
  ): void;
  /** The text exposition: this process's, or in a cluster worker, every worker's, aggregated by the primary. */
  render(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsOptions {
  readonly poolStats?: () => PoolStats | undefined;
  /** Default Node.js metrics; off in tests that build many apps in one process. */
  readonly processMetrics?: boolean;
}

/** Message a cluster worker sends the primary to ask for every worker's metrics, and the answer. */
export const METRICS_REQUEST = 'app:metrics-request';
export const METRICS_RESPONSE = 'app:metrics-response';
interface MetricsReply {
  readonly type: typeof METRICS_RESPONSE;
  readonly id: number;
  readonly body?: string;
  readonly error?: string;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });

  const requests = new RequestMetrics();
  // The registry reads a metric through its `get()` (prom-client registers its cluster aggregates the same way).
  for (const metric of [requests.total, requests.duration])
    registry.registerMetric(metric as unknown as Metric);
  const invalidRequests = new Counter({
    name: 'http_request_validation_failures_total',
    help: 'Requests answered 422 because they broke the contract, by operationId.',
    labelNames: ['operation'] as const,
    registers: [registry],
  });
  const deprecatedUses = new Counter({
    name: 'api_deprecated_use_total',
    help: 'Requests that used a deprecated parameter or body property, by operationId and field.',
    labelNames: ['operation', 'field'] as const,
    registers: [registry],
  });
  const invalidResponses = new Counter({
    name: 'http_response_validation_failures_total',
    help: 'Handler replies that broke the contract (a bug in the server), by operationId.',
    labelNames: ['operation'] as const,
    registers: [registry],
  });

  const { poolStats } = options;
  if (poolStats !== undefined) {
    new Gauge({
      name: 'db_pool_connections',
      help: 'Database pool connections by state (idle, busy) and requests waiting for one.',
      labelNames: ['state'] as const,
      registers: [registry],
      collect() {
        const stats = poolStats();
        this.reset();
        if (stats === undefined) return; // the database is not open yet
        this.set({ state: 'idle' }, stats.idle);
        this.set({ state: 'busy' }, stats.total - stats.idle);
        this.set({ state: 'waiting' }, stats.waiting);
      },
    });
  }

  const local = async (): Promise<string> => registry.metrics();
  let render = local;
  if (cluster.isWorker) {
    // The primary aggregates every worker's registry (prom-client's cluster
    // support): each worker answers its requests with this registry.
    new AggregatorRegistry();
    AggregatorRegistry.setRegistries([registry]);
    render = () => askPrimary().catch(local);
  }

  return {
    registry,
    observeRequest(operationId, method, status, seconds) {
      requests.observe(operationId ?? NO_OPERATION, method, status, seconds);
      if (status === 422 && operationId !== undefined) invalidRequests.inc({ operation: operationId });
    },
    responseInvalid(operationId) {
      invalidResponses.inc({ operation: operationId });
    },
    deprecatedUse(operationId, field) {
      deprecatedUses.inc({ operation: operationId, field });
    },
    gauge(name, help, read) {
      new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          this.set(await read());
        },
      });
    },
    labelledGauge(name, help, label, read) {
      new Gauge({
        name,
        help,
        labelNames: [label],
        registers: [registry],
        async collect() {
          const values = await read();
          this.reset();
          for (const [value, count] of Object.entries(values)) this.set({ [label]: value }, count);
        },
      });
    },
    async render() {
      return { contentType: registry.contentType, body: await render() };
    },
  };
}

/** The upper bounds (seconds) of the request duration histogram's buckets. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What one (operation, method) has seen: answers by status, and the duration histogram. */
interface RequestCell {
  readonly operation: string;
  readonly method: string;
  readonly statuses: Map<number, number>;
  /** Requests per bucket (not cumulative), one more than DURATION_BUCKETS for +Inf. */
  readonly buckets: number[];
  sum: number;
  count: number;
}

/** A metric as prom-client's registry reads it: its `get()` and the fields of what it returns. */
interface ExposedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  get(): { name: string; help: string; type: string; aggregator: 'sum'; values: ExposedValue[] };
  reset(): void;
}

interface ExposedValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName?: string;
}

/**
 * `http_requests_total` and `http_request_duration_seconds`, counted once per
 * request. prom-client's Counter and Histogram hash and validate their label
 * object on every `inc` and `observe`; here each (operation, method) has a
 * cell found by two map lookups, and the label sets are built only when the
 * registry is scraped. The two metrics are registered with prom-client's
 * registry like its own (the object shape its cluster aggregation registers
 * too), so the exposition, the registry's other metrics and the cluster's
 * aggregation are prom-client's.
 */
class RequestMetrics {
  /** operation → method → cell. */
  private cells = new Map<string, Map<string, RequestCell>>();

  readonly total: ExposedMetric = {
    name: 'http_requests_total',
    help: 'HTTP requests answered, by operationId, method and status.',
    type: 'counter',
    aggregator: 'sum',
    get: () =>
      this.exposed(this.total, (cell, values) => {
        for (const [status, count] of cell.statuses) {
          values.push({
            labels: { operation: cell.operation, method: cell.method, status: String(status) },
            value: count,
          });
        }
      }),
    reset: () => {
      this.reset();
    },
  };

  readonly duration: ExposedMetric = {
    name: 'http_request_duration_seconds',
    help: 'Time from the request arriving to the response finishing, by operationId.',
    type: 'histogram',
    aggregator: 'sum',
    get: () =>
      this.exposed(this.duration, (cell, values) => {
        const bucketName = `${this.duration.name}_bucket`;
        let cumulative = 0;
        DURATION_BUCKETS.forEach((bound, i) => {
          cumulative += cell.buckets[i] ?? 0;
          const labels = { le: bound, operation: cell.operation, method: cell.method };
          values.push({ labels, value: cumulative, metricName: bucketName });
        });
        const labels = { operation: cell.operation, method: cell.method };
        values.push(
          { labels: { le: '+Inf', ...labels }, value: cell.count, metricName: bucketName },
          { labels, value: cell.sum, metricName: `${this.duration.name}_sum` },
          { labels, value: cell.count, metricName: `${this.duration.name}_count` },
        );
      }),
    reset: () => {
      this.reset();
    },
  };

  /** The two metrics share their cells: resetting either resets both (the registry resets all at once). */
  reset(): void {
    this.cells = new Map();
  }

  observe(operation: string, method: string, status: number, seconds: number): void {
    let methods = this.cells.get(operation);
    if (methods === undefined) {
      methods = new Map();
      this.cells.set(operation, methods);
    }
    let cell = methods.get(method);
    if (cell === undefined) {
      cell = {
        operation,
        method,
        statuses: new Map(),
        buckets: new Array<number>(DURATION_BUCKETS.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      methods.set(method, cell);
    }
    cell.statuses.set(status, (cell.statuses.get(status) ?? 0) + 1);
    let bucket = 0;
    while (bucket < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[bucket] as number)) bucket++;
    cell.buckets[bucket] = (cell.buckets[bucket] ?? 0) + 1;
    cell.sum += seconds;
    cell.count++;
  }

  private exposed(
    metric: ExposedMetric,
    add: (cell: RequestCell, values: ExposedValue[]) => void,
  ): ReturnType<ExposedMetric['get']> {
    const values: ExposedValue[] = [];
    for (const methods of this.cells.values()) for (const cell of methods.values()) add(cell, values);
    return { name: metric.name, help: metric.help, type: metric.type, aggregator: metric.aggregator, values };
  }
}

let nextRequest = 0;

/** Asks the cluster primary for the aggregated metrics of every worker (see server.ts). */
function askPrimary(timeoutMs = 5000): Promise<string> {
  const send = process.send?.bind(process);
  if (send === undefined) return Promise.reject(new Error('no IPC channel to the primary'));
  const id = nextRequest++;
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      const reply = message as Partial<MetricsReply> | null;
      if (reply?.type !== METRICS_RESPONSE || reply.id !== id) return;
      done();
      if (reply.body !== undefined) resolve(reply.body);
      else reject(new Error(reply.error ?? 'the primary sent no metrics'));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error('the primary did not answer the metrics request'));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      process.off('message', onMessage);
    };
    process.on('message', onMessage);
    send({ type: METRICS_REQUEST, id });
  });
}

/** In the cluster primary: answers workers' metrics requests with every worker's metrics, aggregated. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: unknown) => {
    const request = message as { type?: unknown; id?: unknown } | null;
    if (request?.type !== METRICS_REQUEST || typeof request.id !== 'number') return;
    const id = request.id;
    aggregator.clusterMetrics().then(
      (body) => worker.send({ type: METRICS_RESPONSE, id, body } satisfies MetricsReply),
      (error: unknown) =>
        worker.send({ type: METRICS_RESPONSE, id, error: String(error) } satisfies MetricsReply),
    );
  });
}
