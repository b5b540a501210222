/**
 * The contract at run time: the bundled document, loaded once, and every
 * operation flattened into a form the HTTP, WebSocket and multipart layers can
 * use without walking the document again on each request.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** A parsed OpenAPI 3.1 document; only the parts read here are typed. */
export interface OpenApiDocument {
  readonly openapi: string;
  readonly paths?: Record<string, Record<string, unknown>>;
  readonly components?: Record<string, Record<string, unknown>>;
  readonly security?: readonly Record<string, readonly string[]>[];
  readonly [key: string]: unknown;
}

export type ParameterLocation = 'path' | 'query' | 'header' | 'cookie';
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface ParameterSpec {
  readonly name: string;
  readonly in: ParameterLocation;
  readonly required: boolean;
  /** JSON Pointer (into the document) of the parameter's schema. */
  readonly schemaPointer: string;
  /** The schema itself with `$ref`s at its top followed, for type coercion. */
  readonly schema: Readonly<Record<string, unknown>>;
  /** The parameter's example (its `example`, its first `examples` entry, or its schema's), if any. */
  readonly example: unknown;
}

export interface MediaSpec {
  readonly schemaPointer: string | undefined;
  readonly encoding: Readonly<Record<string, unknown>> | undefined;
  /** The media type's `example` or the value of its first `examples` entry, if any. */
  readonly example: unknown;
}

export interface ResponseSpec {
  readonly content: ReadonlyMap<string, MediaSpec>;
  readonly headers: ReadonlyMap<
    string,
    {
      readonly required: boolean;
      readonly schemaPointer: string;
      readonly schema: Readonly<Record<string, unknown>>;
    }
  >;
}

/**
 * A rate-limit policy from the contract (`x-rate-limit-policies`): `limit`
 * requests per `windowSeconds` for each client (its account when signed in,
 * its address otherwise). `shared` counters live in the database so every
 * server process counts together; `process` counters live in each process.
 */
export interface RateLimitPolicy {
  readonly name: string;
  readonly limit: number;
  readonly windowSeconds: number;
  readonly scope: 'shared' | 'process';
}

export interface OperationSpec {
  readonly operationId: string;
  readonly method: HttpMethod;
  /** The path template as written in the document, e.g. `/users/{user_id}`. */
  readonly path: string;
  readonly summary: string | undefined;
  readonly parameters: readonly ParameterSpec[];
  readonly requestBody:
    { readonly required: boolean; readonly content: ReadonlyMap<string, MediaSpec> } | undefined;
  readonly responses: ReadonlyMap<number, ResponseSpec>;
  /** Alternatives (any one may be satisfied) of schemes that must all pass. */
  readonly security: readonly Readonly<Record<string, readonly string[]>>[];
  /** `x-roles`: roles allowed to call the operation; undefined means any authenticated caller. */
  readonly roles: readonly string[] | undefined;
  /** `x-rate-limit`: the policy the operation is counted under; undefined when the document declares none. */
  readonly rateLimit: RateLimitPolicy | undefined;
  /** The operation object itself, for extensions read by other layers. */
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface Spec {
  readonly document: OpenApiDocument;
  readonly operations: readonly OperationSpec[];
  readonly byId: ReadonlyMap<string, OperationSpec>;
}

/**
 * The project's root: the nearest directory above `from` that holds
 * package.json. This module runs from src/contract/ (tsx) and from inside the
 * single-file bundle dist/server.js, so a fixed relative path fits only one.
 */
export function projectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** The bundled contract that `npm run gen` writes from openapi.yaml. */
export const DEFAULT_SPEC_FILE = path.join(projectRoot(import.meta.dirname), 'generated/openapi.json');

/** Escapes one JSON Pointer reference token (RFC 6901). */
export function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Follows internal `$ref`s ("#/...") until a non-reference object; returns it with its pointer. */
function resolve(
  document: OpenApiDocument,
  value: unknown,
  pointer: string,
): { node: Record<string, unknown>; pointer: string } {
  let node = value;
  let at = pointer;
  for (let hops = 0; isObject(node) && typeof node['$ref'] === 'string'; hops += 1) {
    const ref = node['$ref'];
    if (!ref.startsWith('#/') || hops > 32) {
      throw new Error(`Unsupported $ref "${ref}" at ${at}: bundle the document first (npm run gen)`);
    }
    at = ref.slice(1);
    node = ref
      .slice(2)
      .split('/')
      .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((current, token) => (isObject(current) ? current[token] : undefined), document);
  }
  if (!isObject(node)) throw new Error(`Expected an object at ${at}`);
  return { node, pointer: at };
}

/** `example`, else the value of the first entry of `examples` (following `$ref`s). */
function exampleOf(document: OpenApiDocument, holder: Record<string, unknown>, pointer: string): unknown {
  if (holder['example'] !== undefined) return holder['example'];
  const examples = holder['examples'];
  if (!isObject(examples)) return undefined;
  const [name, first] = Object.entries(examples)[0] ?? [];
  if (name === undefined) return undefined;
  return resolve(document, first, `${pointer}/examples/${escapePointer(name)}`).node['value'];
}

function mediaMap(
  document: OpenApiDocument,
  content: unknown,
  pointer: string,
): ReadonlyMap<string, MediaSpec> {
  const media = new Map<string, MediaSpec>();
  if (!isObject(content)) return media;
  for (const [type, value] of Object.entries(content)) {
    const at = `${pointer}/content/${escapePointer(type)}`;
    const object = isObject(value) ? value : {};
    media.set(type.toLowerCase(), {
      schemaPointer: object['schema'] === undefined ? undefined : `${at}/schema`,
      encoding: isObject(object['encoding']) ? object['encoding'] : undefined,
      example: exampleOf(document, object, at),
    });
  }
  return media;
}

function parameterSpecs(
  document: OpenApiDocument,
  pathItem: Record<string, unknown>,
  operation: Record<string, unknown>,
  pathPointer: string,
  operationPointer: string,
): ParameterSpec[] {
  const byKey = new Map<string, ParameterSpec>();
  const lists: [unknown, string][] = [
    [pathItem['parameters'], `${pathPointer}/parameters`],
    [operation['parameters'], `${operationPointer}/parameters`],
  ];
  for (const [list, listPointer] of lists) {
    if (!Array.isArray(list)) continue;
    list.forEach((entry, index) => {
      const { node, pointer } = resolve(document, entry, `${listPointer}/${index}`);
      const name = String(node['name']);
      const location = node['in'] as ParameterLocation;
      const schemaPointer = `${pointer}/schema`;
      const schema =
        node['schema'] === undefined ? {} : resolve(document, node['schema'], schemaPointer).node;
      // Operation-level parameters override path-level ones with the same name and location.
      byKey.set(`${location}:${location === 'header' ? name.toLowerCase() : name}`, {
        name,
        in: location,
        required: node['required'] === true || location === 'path',
        schemaPointer,
        schema,
        example: exampleOf(document, node, pointer) ?? schema['example'],
      });
    });
  }
  return [...byKey.values()];
}

function responseSpecs(
  document: OpenApiDocument,
  responses: unknown,
  pointer: string,
): ReadonlyMap<number, ResponseSpec> {
  const result = new Map<number, ResponseSpec>();
  if (!isObject(responses)) return result;
  for (const [code, value] of Object.entries(responses)) {
    const status = Number(code);
    if (!Number.isInteger(status)) {
      throw new Error(`${pointer}: declare concrete status codes, not "${code}"`);
    }
    const resolved = resolve(document, value, `${pointer}/${code}`);
    const headers = new Map<
      string,
      { required: boolean; schemaPointer: string; schema: Record<string, unknown> }
    >();
    if (isObject(resolved.node['headers'])) {
      for (const [name, header] of Object.entries(resolved.node['headers'])) {
        const h = resolve(document, header, `${resolved.pointer}/headers/${escapePointer(name)}`);
        const schemaPointer = `${h.pointer}/schema`;
        const schema =
          h.node['schema'] === undefined ? {} : resolve(document, h.node['schema'], schemaPointer).node;
        headers.set(name, { required: h.node['required'] === true, schemaPointer, schema });
      }
    }
    result.set(status, { content: mediaMap(document, resolved.node['content'], resolved.pointer), headers });
  }
  return result;
}

/** The document's `x-rate-limit-policies`, checked; empty when it declares none. */
function rateLimitPolicies(document: OpenApiDocument): Map<string, RateLimitPolicy> {
  const policies = new Map<string, RateLimitPolicy>();
  const declared = document['x-rate-limit-policies'];
  if (declared === undefined) return policies;
  if (!isObject(declared)) throw new Error('x-rate-limit-policies must be an object');
  for (const [name, policy] of Object.entries(declared)) {
    const limit = isObject(policy) ? policy['limit'] : undefined;
    const window = isObject(policy) ? policy['window'] : undefined;
    const scope = isObject(policy) ? (policy['scope'] ?? 'shared') : undefined;
    if (
      !Number.isInteger(limit) ||
      (limit as number) < 1 ||
      !Number.isInteger(window) ||
      (window as number) < 1 ||
      (scope !== 'shared' && scope !== 'process')
    ) {
      throw new Error(
        `x-rate-limit-policies.${name} needs a positive integer limit and window, and a scope of shared or process`,
      );
    }
    policies.set(name, { name, limit: limit as number, windowSeconds: window as number, scope });
  }
  return policies;
}

/** Flattens a bundled document into operation specs. Throws on anything the server cannot honour. */
export function indexDocument(document: OpenApiDocument): Spec {
  if (!document.openapi.startsWith('3.1')) {
    throw new Error(`Expected an OpenAPI 3.1 document, got ${document.openapi}`);
  }
  const operations: OperationSpec[] = [];
  const policies = rateLimitPolicies(document);
  for (const [template, pathItemValue] of Object.entries(document.paths ?? {})) {
    const pathPointer = `/paths/${escapePointer(template)}`;
    const pathItem = resolve(document, pathItemValue, pathPointer).node;
    for (const method of HTTP_METHODS) {
      const operation = pathItem[method];
      if (!isObject(operation)) continue;
      const operationPointer = `${pathPointer}/${method}`;
      const operationId = operation['operationId'];
      if (typeof operationId !== 'string') {
        throw new Error(`${method.toUpperCase()} ${template} has no operationId`);
      }
      const body =
        operation['requestBody'] === undefined
          ? undefined
          : resolve(document, operation['requestBody'], `${operationPointer}/requestBody`);
      const roles = operation['x-roles'];
      const policyName = operation['x-rate-limit'];
      const rateLimit = typeof policyName === 'string' ? policies.get(policyName) : undefined;
      if (policies.size > 0 && rateLimit === undefined) {
        throw new Error(
          `${operationId} needs x-rate-limit naming one of x-rate-limit-policies (${[...policies.keys()].join(', ')})`,
        );
      }
      operations.push({
        operationId,
        method,
        path: template,
        summary: typeof operation['summary'] === 'string' ? operation['summary'] : undefined,
        parameters: parameterSpecs(document, pathItem, operation, pathPointer, operationPointer),
        requestBody:
          body === undefined
            ? undefined
            : {
                required: body.node['required'] === true,
                content: mediaMap(document, body.node['content'], body.pointer),
              },
        responses: responseSpecs(document, operation['responses'], `${operationPointer}/responses`),
        security: (operation['security'] ?? document.security ?? []) as Record<string, string[]>[],
        roles: Array.isArray(roles) ? roles.map(String) : undefined,
        rateLimit,
        raw: operation,
      });
    }
  }
  const byId = new Map<string, OperationSpec>();
  for (const operation of operations) {
    if (byId.has(operation.operationId)) throw new Error(`Duplicate operationId ${operation.operationId}`);
    byId.set(operation.operationId, operation);
  }
  return { document, operations, byId };
}

/**
 * Loads and indexes the bundled contract once, at start-up.
 * @example const spec = loadSpec(); spec.byId.get('getHealth')
 */
export function loadSpec(file: string = DEFAULT_SPEC_FILE): Spec {
  return indexDocument(JSON.parse(readFileSync(file, 'utf8')) as OpenApiDocument);
}

/**
 * The declared media type (or range: `image/*`, `*\/*`) that covers a concrete
 * one, e.g. `image/png` is covered by a declared `*\/*`.
 */
export function coveringMediaType(
  declared: { has(mediaType: string): boolean },
  mediaType: string,
): string | undefined {
  if (declared.has(mediaType)) return mediaType;
  const range = `${mediaType.split('/', 1)[0] ?? ''}/*`;
  if (declared.has(range)) return range;
  return declared.has('*/*') ? '*/*' : undefined;
}
