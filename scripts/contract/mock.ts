/**
 * Mock mode: the server's own HTTP transport (routing, HEAD and OPTIONS,
 * security stage, body reading, request validation, problem documents, reply
 * check) with handlers that answer from the contract's examples instead of a
 * database, so a consumer can build against the contract before the backend
 * exists, and a bad request gets the same 4xx as from the real server.
 *
 * An operation answers its first 2xx (a WebSocket upgrade: its 426, as the
 * server does for a plain GET). `Prefer: code=404` picks another declared
 * status, `Prefer: example=name` a named example (of that status, or of the
 * first status that has one); a preference the operation cannot meet is a 501
 * problem that names what it declares. Credentials are checked for presence
 * only: any bearer token is an admin, any API key passes.
 *
 * npm run mock -- [--port 4010] [--host 127.0.0.1] [--spec generated/openapi.json]
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { OpenAPIBackend } from 'openapi-backend';
import type { Document } from 'openapi-backend';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { createRateLimits } from '../../src/auth/rate-limits.js';
import { loadConfig } from '../../src/config.js';
import type { Config } from '../../src/config.js';
import { ApiError } from '../../src/contract/errors.js';
import { RouteIndex } from '../../src/contract/routes.js';
import type { OpenApiDocument, OperationSpec } from '../../src/contract/spec.js';
import type { Principal, SecurityHandlers } from '../../src/contract/types.js';
import { createValidation } from '../../src/contract/validation.js';
import type { Deps } from '../../src/deps.js';
import type { FileStorage } from '../../src/files/storage.js';
import { isJson } from '../../src/http/body.js';
import { createHttp } from '../../src/http/index.js';
import type { AnyHandler } from '../../src/http/index.js';
import { PROBLEM_JSON } from '../../src/http/problem.js';
import type { ReplyLike } from '../../src/http/reply-check.js';
import { requestIdFor } from '../../src/http/request-state.js';
import { createMetrics } from '../../src/metrics.js';
import { loadContract } from './document.js';
import type { Contract } from './document.js';
import { isObject } from './document.js';

/** What the request asked the mock for, once checked against its operation. */
interface Choice {
  readonly status: number;
  /** The named example, when `Prefer: example=` chose one. */
  readonly example: { readonly mediaType: string; readonly name: string } | undefined;
  /** The preferences honoured, for `Preference-Applied`. */
  readonly applied: readonly string[];
}

/** One mock request, seen by its handler (the handler's input carries no raw request). */
interface MockRequest {
  readonly pathname: string;
  readonly choice: Choice;
}

/** Headers the HTTP layer sets itself; a declared example of them is never copied. */
const LAYER_HEADERS = new Set([
  'x-request-id',
  'x-process-time',
  'ratelimit',
  'ratelimit-policy',
  'content-length',
]);

/** The value of one preference (RFC 7240) in the request's `Prefer` headers. */
function preference(req: IncomingMessage, name: string): string | undefined {
  const prefer = req.headers['prefer'];
  const text = Array.isArray(prefer) ? prefer.join(',') : (prefer ?? '');
  const match = new RegExp(`(?:^|[,;\\s])${name}\\s*=\\s*("[^"]*"|[^,;\\s]+)`, 'i').exec(text);
  return match?.[1]?.replace(/^"(.*)"$/, '$1');
}

/** What a contract response declares, read from the document. */
class Responses {
  constructor(private readonly contract: Contract) {}

  private response(operation: OperationSpec, status: number): Record<string, unknown> {
    const responses = operation.raw['responses'] as Record<string, unknown> | undefined;
    return this.contract.deref(responses?.[String(status)]);
  }

  /** The media types of a status, with their named examples. */
  examples(operation: OperationSpec, status: number): Map<string, Map<string, unknown>> {
    const content = this.response(operation, status)['content'];
    const found = new Map<string, Map<string, unknown>>();
    for (const [mediaType, media] of Object.entries(isObject(content) ? content : {})) {
      const named = new Map<string, unknown>();
      const examples = this.contract.deref(media)['examples'];
      for (const [name, example] of Object.entries(isObject(examples) ? examples : {}))
        named.set(name, this.contract.deref(example)['value']);
      found.set(mediaType, named);
    }
    return found;
  }

  /** A declared header's example value. */
  headerExample(operation: OperationSpec, status: number, name: string): string | undefined {
    const headers = this.response(operation, status)['headers'];
    const header = this.contract.deref(isObject(headers) ? headers[name] : undefined);
    const schema = this.contract.deref(header['schema']);
    const value: unknown =
      header['example'] ??
      schema['example'] ??
      schema['const'] ??
      (Array.isArray(schema['enum']) ? schema['enum'][0] : undefined);
    return value === undefined ? undefined : typeof value === 'string' ? value : JSON.stringify(value);
  }
}

/** The status an operation answers when nothing is preferred. */
function defaultStatus(operation: OperationSpec): number {
  const statuses = [...operation.responses.keys()].sort((a, b) => a - b);
  const success = statuses.find((s) => s >= 200 && s < 300);
  // A mock cannot switch protocols: a WebSocket upgrade answers a plain request with its 426, as the server does.
  if (success === undefined && statuses.includes(101) && statuses.includes(426)) return 426;
  return success ?? statuses[0] ?? 200;
}

/** The response the request prefers, or why the operation cannot give it. */
function choose(responses: Responses, operation: OperationSpec, req: IncomingMessage): Choice | string {
  const { operationId } = operation;
  const declared = [...operation.responses.keys()].sort((a, b) => a - b);
  const code = preference(req, 'code');
  const name = preference(req, 'example');
  const applied: string[] = [];
  let status = defaultStatus(operation);
  if (code !== undefined) {
    status = Number(code);
    if (!operation.responses.has(status))
      return `${operationId} declares no ${code} response (it declares ${declared.join(', ')}): Prefer: code=${code} cannot be answered.`;
    applied.push(`code=${code}`);
  }
  if (name === undefined) return { status, example: undefined, applied };
  // Without a code, the example may belong to any status: the default one first, then in order.
  const candidates = code !== undefined ? [status] : [status, ...declared.filter((s) => s !== status)];
  for (const candidate of candidates) {
    for (const [mediaType, examples] of responses.examples(operation, candidate)) {
      if (examples.has(name))
        return { status: candidate, example: { mediaType, name }, applied: [...applied, `example=${name}`] };
    }
  }
  const known = candidates
    .map((s) => [s, [...responses.examples(operation, s).values()].flatMap((e) => [...e.keys()])] as const)
    .filter(([, names]) => names.length > 0)
    .map(([s, names]) => `${s}: ${names.join(', ')}`);
  return `${operationId} has no example named "${name}"${code === undefined ? '' : ` for ${code}`} (examples: ${known.join('; ') || 'none'}): Prefer: example=${name} cannot be answered.`;
}

/** Bytes from a string or JSON value, served like the server's downloads. */
function byteBody(value: unknown): { binary: true; length: number; open: () => Readable } {
  const bytes = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value ?? ''));
  return { binary: true, length: bytes.length, open: () => Readable.from([bytes]) };
}

/** The handler that answers one operation from its examples. */
function mockHandler(
  operation: OperationSpec,
  responses: Responses,
  mocker: OpenAPIBackend,
  requests: AsyncLocalStorage<MockRequest>,
): AnyHandler {
  return async (input: { requestId: string }) => {
    const request = requests.getStore();
    if (request === undefined) throw new Error('a mock request outside its context');
    const { status, example, applied } = request.choice;
    const headers: Record<string, string> = {};
    for (const name of operation.responses.get(status)?.headers.keys() ?? []) {
      if (LAYER_HEADERS.has(name.toLowerCase())) continue;
      const value = responses.headerExample(operation, status, name);
      if (value !== undefined) headers[name] = value;
    }
    if (applied.length > 0) headers['Preference-Applied'] = applied.join(', ');
    const examples = responses.examples(operation, status);
    const mediaType = example?.mediaType ?? [...examples.keys()][0];
    if (mediaType === undefined) return { status, headers };
    const named = examples.get(mediaType) ?? new Map<string, unknown>();
    let value: unknown =
      example !== undefined
        ? named.get(example.name)
        : named.size > 0
          ? [...named.values()][0]
          : (operation.responses.get(status)?.content.get(mediaType)?.example ??
            mocker.mockResponseForOperation(operation.operationId, { code: status, mediaType }).mock);
    // A problem names the request it answers, as the server's do.
    if (mediaType === PROBLEM_JSON && isObject(value)) {
      value = {
        ...value,
        instance: request.pathname,
        ...(value['request_id'] === undefined ? {} : { request_id: input.requestId }),
      };
    }
    if (isJson(mediaType)) return { status, headers, body: value, contentType: mediaType };
    const body = byteBody(value);
    const reply: ReplyLike = {
      status,
      headers: { ...headers, 'Content-Length': String(body.length) },
      body,
      // A range (`*/*`) is not a type a response can carry.
      contentType: mediaType.includes('*') ? 'application/octet-stream' : mediaType,
    };
    return reply;
  };
}

/** Security schemes judged by presence alone: the mock has no accounts and no keys. */
function mockSecurity(document: OpenApiDocument): SecurityHandlers {
  const schemes = (document.components?.['securitySchemes'] ?? {}) as Record<string, Record<string, unknown>>;
  const caller = (kind: Principal['kind']): Principal =>
    kind === 'apiKey' ? { kind, role: 'admin' } : { kind, userId: 1, role: 'admin' };
  const handlers: Record<string, SecurityHandlers[string]> = {};
  for (const [name, scheme] of Object.entries(schemes)) {
    if (scheme['type'] === 'apiKey') {
      const key = String(scheme['name']);
      handlers[name] = ({ headers, query }) => {
        const given = scheme['in'] === 'query' ? query.get(key) : headers[key.toLowerCase()];
        const value = Array.isArray(given) ? given[0] : given;
        if (value === undefined || value === null || value === '')
          throw new ApiError('unauthorized', 'This operation needs an API key.');
        return caller('apiKey');
      };
    } else {
      handlers[name] = ({ headers }) => {
        const given = headers['authorization'];
        if (!/^Bearer[ ]+\S+/i.test((Array.isArray(given) ? given[0] : given) ?? ''))
          throw new ApiError('unauthorized', 'This operation needs a bearer token.', {
            headers: { 'WWW-Authenticate': 'Bearer' },
          });
        return caller('user');
      };
    }
  }
  return handlers;
}

/** Stands in for what the mock does not have (a database, password hashing, tokens). */
function absent<T>(what: string): T {
  return new Proxy(
    {},
    {
      get(_target, property) {
        if (property === 'then') return undefined;
        throw new Error(`the mock has no ${what} (${String(property)})`);
      },
    },
  ) as T;
}

/** Uploads are read and checked like the server's, and their bytes dropped. */
const discardStorage: FileStorage = {
  kind: 'local',
  async write(_key, source) {
    for await (const chunk of source) void chunk;
  },
  read: () => Readable.from([]),
  remove: () => Promise.resolve(),
  staleKeys: () => Promise.resolve([]),
};

export interface MockOptions {
  /** Configuration variables, read as the server reads them (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where the request log goes (default: stdout at LOG_LEVEL). */
  readonly log?: Logger;
}

/** Builds (but does not start) the mock server for a contract. */
export async function createMockServer(contract: Contract, options: MockOptions = {}): Promise<Server> {
  const { spec } = contract;
  // The mock is never a production deployment (which would insist on a JWT secret it does not use).
  const config: Config = loadConfig({ ...(options.env ?? process.env), NODE_ENV: 'development' });
  const log = options.log ?? pino({ level: config.logLevel, base: { pid: process.pid } });
  const validation = createValidation(spec);
  const deps: Deps = {
    config,
    log,
    validation,
    lifecycle: { stopping: () => false },
    db: absent('database'),
    database: absent('database'),
    metrics: createMetrics({ processMetrics: false }),
    auth: {
      passwords: absent('password hashing'),
      tokens: absent('token service'),
      throttle: absent('login throttle'),
      rateLimits: createRateLimits(spec, { factor: config.rateLimitFactor, store: undefined }),
    },
    files: { storage: discardStorage },
  };
  // openapi-backend's mocker builds a value from the schema for a response without an example.
  const mocker = new OpenAPIBackend({
    definition: structuredClone(contract.document) as unknown as Document,
    // openapi-backend 5 checks documents against the 3.0 meta-schema; quick skips that for our 3.1.
    quick: true,
    validate: false,
  });
  await mocker.init();
  const responses = new Responses(contract);
  const requests = new AsyncLocalStorage<MockRequest>();
  const handlers: Record<string, AnyHandler> = {};
  for (const operation of spec.operations)
    handlers[operation.operationId] = mockHandler(operation, responses, mocker, requests);
  const http = await createHttp({
    config,
    spec,
    validation,
    handlers,
    security: mockSecurity(contract.document),
    deps,
  });
  const routes = new RouteIndex(spec.operations);

  /** A preference the operation cannot meet: never a status an operation declares, so never mistaken for one. */
  function unmet(req: IncomingMessage, res: ServerResponse, pathname: string, detail: string): void {
    req.resume();
    const requestId = requestIdFor(req);
    // Not one of the server's problem types: only the mock answers it.
    const payload = JSON.stringify({
      type: 'about:blank',
      title: 'Not Implemented',
      status: 501,
      detail,
      instance: pathname.slice(0, 300),
      request_id: requestId,
    });
    res.writeHead(501, {
      'Content-Type': `${PROBLEM_JSON}; charset=utf-8`,
      'Content-Length': Buffer.byteLength(payload),
      'X-Request-ID': requestId,
    });
    res.end(payload);
  }

  return createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    const match = routes.match(req.method ?? 'GET', pathname);
    if (match.kind !== 'operation') {
      http.listener(req, res);
      return;
    }
    const choice = choose(responses, match.operation, req);
    if (typeof choice === 'string') {
      unmet(req, res, pathname, choice);
      return;
    }
    requests.run({ pathname, choice }, () => {
      http.listener(req, res);
    });
  });
}

/** `npm run mock`: serve until stopped. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '4010' },
      host: { type: 'string', default: '127.0.0.1' },
      spec: { type: 'string', default: path.resolve(import.meta.dirname, '../../generated/openapi.json') },
    },
  });
  const contract = await loadContract(values.spec);
  const server = await createMockServer(contract);
  server.listen(Number(values.port), values.host, () => {
    console.log(
      `mock of ${(contract.document as OpenApiDocument & { info?: { title?: string } }).info?.title ?? 'the contract'} on http://${values.host}:${values.port} (${contract.spec.operations.length} operations)`,
    );
  });
  process.once('SIGTERM', () => server.close());
  process.once('SIGINT', () => server.close());
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) await main();
