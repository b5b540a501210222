/**
 * Mock mode: a server that answers every operation of the contract from its
 * examples (openapi-backend's mocker), so a consumer can build against the
 * contract before the backend exists. Nothing is stored and bodies are not
 * validated. It answers the operation's first 2xx; `Prefer: code=404` (or
 * `Prefer: example=name`) picks another declared response, as Prism does; a
 * secured operation called without any credentials gets its 401.
 *
 * npm run mock -- [--port 4010] [--host 127.0.0.1] [--spec generated/openapi.json]
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { OpenAPIBackend } from 'openapi-backend';
import type { Context, Document } from 'openapi-backend';
import type { OpenApiDocument, OperationSpec } from '../../src/contract/spec.js';
import { loadContract } from './document.js';
import type { Contract } from './document.js';
import { isObject } from './document.js';

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
}

function preference(req: IncomingMessage, name: string): string | undefined {
  const prefer = req.headers['prefer'];
  const match = new RegExp(`(?:^|[,;\\s])${name}=([^,;\\s]+)`).exec(
    Array.isArray(prefer) ? prefer.join(',') : (prefer ?? ''),
  );
  return match?.[1];
}

/** Whether the request carries anything that looks like the operation's credentials. */
function hasCredentials(contract: Contract, operation: OperationSpec, { req, url }: Exchange): boolean {
  if (operation.security.length === 0 || operation.security.some((alt) => Object.keys(alt).length === 0))
    return true;
  const schemes = (contract.document.components?.['securitySchemes'] ?? {}) as Record<
    string,
    Record<string, unknown>
  >;
  return operation.security.some((alt) =>
    Object.keys(alt).every((name) => {
      const scheme = schemes[name] ?? {};
      if (scheme['type'] === 'apiKey') {
        const key = String(scheme['name']);
        return scheme['in'] === 'query'
          ? url.searchParams.has(key)
          : req.headers[key.toLowerCase()] !== undefined;
      }
      return req.headers.authorization !== undefined;
    }),
  );
}

/** A declared header's example value. */
function headerExample(
  contract: Contract,
  operation: OperationSpec,
  status: number,
  name: string,
): string | undefined {
  const responses = operation.raw['responses'] as Record<string, unknown> | undefined;
  const response = contract.deref(responses?.[String(status)]);
  const headers = isObject(response['headers']) ? response['headers'] : {};
  const header = contract.deref(headers[name]);
  const schema = contract.deref(header['schema']);
  const value: unknown =
    header['example'] ??
    schema['example'] ??
    schema['const'] ??
    (Array.isArray(schema['enum']) ? schema['enum'][0] : undefined);
  return value === undefined ? undefined : typeof value === 'string' ? value : JSON.stringify(value);
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: unknown,
  mediaType: string | undefined,
): void {
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (body === undefined || mediaType === undefined) {
    res.end();
    return;
  }
  const payload = typeof body === 'string' && !mediaType.includes('json') ? body : JSON.stringify(body);
  res.setHeader('Content-Type', `${mediaType}; charset=utf-8`);
  res.end(payload);
}

function problem(
  res: ServerResponse,
  status: number,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
): void {
  send(res, status, headers, { type: 'about:blank', title, status, detail }, 'application/problem+json');
}

/** Builds (but does not start) the mock server for a contract. */
export async function createMockServer(contract: Contract): Promise<Server> {
  const api = new OpenAPIBackend({
    definition: structuredClone(contract.document) as unknown as Document,
    // openapi-backend 5 checks documents against the 3.0 meta-schema; quick skips that for our 3.1.
    quick: true,
    validate: false,
  });
  api.register({
    notFound: (_c: Context, ex: Exchange) => {
      problem(ex.res, 404, 'Not Found', `No operation matches ${ex.req.method ?? ''} ${ex.url.pathname}.`);
    },
    methodNotAllowed: (_c: Context, ex: Exchange) => {
      const allow = contract.spec.operations
        .filter((op) => new RegExp(`^${op.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(ex.url.pathname))
        .map((op) => op.method.toUpperCase());
      problem(ex.res, 405, 'Method Not Allowed', `${ex.req.method ?? ''} is not allowed here.`, {
        Allow: allow.join(', '),
      });
    },
  });
  // Credentials are judged by hasCredentials below; openapi-backend's own check would only warn.
  for (const name of Object.keys(contract.document.components?.['securitySchemes'] ?? {})) {
    api.registerSecurityHandler(name, () => true);
  }
  for (const operation of contract.spec.operations) {
    api.register(operation.operationId, (_c: Context, ex: Exchange) => {
      const statuses = [...operation.responses.keys()].sort((a, b) => a - b);
      const wanted = Number(preference(ex.req, 'code'));
      // A mock cannot switch protocols: a WebSocket upgrade (101) answers its declared 426.
      const upgrade = statuses.includes(101) && statuses.includes(426) ? 426 : undefined;
      let status = statuses.find((s) => s >= 200 && s < 300) ?? upgrade ?? statuses[0] ?? 200;
      if (statuses.includes(wanted)) status = wanted;
      else if (!hasCredentials(contract, operation, ex) && statuses.includes(401)) status = 401;
      const mediaType = [...(operation.responses.get(status)?.content.keys() ?? [])][0];
      const example = preference(ex.req, 'example');
      const mock: unknown =
        mediaType === undefined
          ? undefined
          : api.mockResponseForOperation(operation.operationId, {
              code: status,
              mediaType,
              ...(example === undefined ? {} : { example }),
            }).mock;
      const headers: Record<string, string> = { 'X-Request-ID': randomUUID(), 'X-Process-Time': '0.000100' };
      for (const name of operation.responses.get(status)?.headers.keys() ?? []) {
        if (headers[name] !== undefined) continue;
        const value = headerExample(contract, operation, status, name);
        if (value !== undefined) headers[name] = value;
      }
      send(ex.res, status, headers, mock, mediaType);
    });
  }
  await api.init();
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://mock');
    const exchange: Exchange = { req, res, url };
    // Bodies are not read: the mock answers from examples whatever was sent.
    req.resume();
    api
      .handleRequest(
        {
          method: req.method ?? 'GET',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          headers: req.headers as Record<string, string | string[]>,
        },
        exchange,
      )
      .catch((error: unknown) => {
        problem(res, 500, 'Internal Server Error', error instanceof Error ? error.message : String(error));
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
