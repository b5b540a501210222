/**
 * openapi-backend wiring. openapi-backend owns the request lifecycle (route by
 * operationId → security handlers → our hooks → operation handler), but its
 * router is replaced by one that reads the match computed once per request
 * from the start-up route index: out of the box it rebuilds its operation list
 * and a RegExp per operation on every request and re-parses the request three
 * times. Its own validator is off; the contract's one Ajv instance validates
 * instead (see contract/validation.ts).
 */
import { OpenAPIBackend, OpenAPIRouter } from 'openapi-backend';
import type { Context, Document, Operation, ParsedRequest, Request as BackendRequest } from 'openapi-backend';
import type { Request, Response } from 'express';
import type { ResponseValidation } from '../config.js';
import type { Deps } from '../deps.js';
import { ApiError, validationError, Violations } from '../contract/errors.js';
import { addNulViolations } from '../contract/json-shape.js';
import type { RouteMatch } from '../contract/routes.js';
import { coveringMediaType } from '../contract/spec.js';
import type { OperationSpec, RateLimitPolicy, Spec } from '../contract/spec.js';
import { rateLimitClient } from '../auth/rate-limits.js';
import type { BinaryBody, Principal, SecurityHandlers } from '../contract/types.js';
import { addAjvErrors, coerceParameter, toFieldErrors } from '../contract/validation.js';
import { deprecationsFor } from '../contract/deprecation.js';
import type { Validation } from '../contract/validation.js';
import { isJson } from './body.js';
import type { BodyParsers } from './body.js';
import type { RequestState } from './middleware.js';

/** What a handler returns, seen without its per-operation type. */
export interface ReplyLike {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly contentType?: string;
}

// The handler map is checked against the contract by tsc (HandlerMap); here it is only called.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyHandler = (input: any, deps: Deps) => Promise<ReplyLike>;

/** One request on its way through the backend; handed to every openapi-backend hook. */
export interface Exchange {
  readonly req: Request;
  readonly res: Response;
  readonly state: RequestState;
  readonly match: RouteMatch;
  readonly pathname: string;
  readonly query: URLSearchParams;
  principal?: Principal | undefined;
  input?: Record<string, unknown>;
  /** Undoes what reading the body stored (uploaded files) unless the handler kept it. */
  release?: (() => Promise<void>) | undefined;
}

/** Whether a reply body is a byte stream rather than a JSON value. */
export function isBinaryBody(value: unknown): value is BinaryBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { binary?: unknown }).binary === true &&
    typeof (value as { open?: unknown }).open === 'function'
  );
}

/** A reply on its way out, with the media type it will be written as. */
export interface OutgoingReply extends ReplyLike {
  readonly mediaType: string | undefined;
}

interface RoutedRequest extends BackendRequest {
  readonly exchange: Exchange;
}

/** Routes from the match already computed for the request, and caches the operation list. */
class IndexedRouter extends OpenAPIRouter {
  private operations: Operation[] | undefined;
  private byId: Map<string, Operation> | undefined;

  override getOperations(): Operation[] {
    this.operations ??= super.getOperations();
    return this.operations;
  }

  override getOperation(operationId: string): Operation | undefined {
    this.byId ??= new Map(this.getOperations().map((op) => [op.operationId ?? '', op]));
    return this.byId.get(operationId);
  }

  override matchOperation(req: BackendRequest): Operation;
  override matchOperation(req: BackendRequest, strict: boolean): Operation | undefined;
  override matchOperation(req: BackendRequest): Operation | undefined {
    const { match } = (req as RoutedRequest).exchange;
    if (match.kind === 'operation') return this.getOperation(match.operation.operationId);
    // openapi-backend reads these prefixes to pick its notFound / methodNotAllowed handler.
    throw new Error(match.kind === 'method-not-allowed' ? '405-methodNotAllowed' : '404-notFound');
  }

  override parseRequest(req: BackendRequest): ParsedRequest {
    const { exchange } = req as RoutedRequest;
    return {
      method: req.method,
      path: req.path,
      headers: req.headers,
      query: exchange.query,
      params: exchange.match.kind === 'operation' ? exchange.match.params : {},
      cookies: {},
      requestBody: undefined,
    };
  }
}

export interface BackendOptions {
  readonly spec: Spec;
  readonly validation: Validation;
  readonly handlers: Readonly<Record<string, AnyHandler>>;
  readonly security: SecurityHandlers;
  readonly deps: Deps;
  readonly responseValidation: ResponseValidation;
  readonly bodies: BodyParsers;
}

export interface Backend {
  handle(exchange: Exchange): Promise<OutgoingReply>;
  readonly api: OpenAPIBackend;
}

const exchangeOf = (args: unknown[]): Exchange => args[0] as Exchange;

function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const name = pair.slice(0, at).trim();
    const value = pair
      .slice(at + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    try {
      cookies[name] ??= decodeURIComponent(value);
    } catch {
      cookies[name] ??= value;
    }
  }
  return cookies;
}

/** Parameters as the handler sees them: coerced to their schema types, defaults filled in. */
function readParameters(
  operation: OperationSpec,
  validation: Validation,
  exchange: Exchange,
  violations: Violations,
): Record<string, Record<string, unknown>> {
  const values: Record<string, Record<string, unknown>> = { path: {}, query: {}, header: {}, cookie: {} };
  const validators = validation.operation(operation.operationId).parameters;
  let cookies: Record<string, string> | undefined;
  for (const { location, parameters, validate } of validators) {
    const target: Record<string, unknown> = {};
    for (const parameter of parameters) {
      let raw: string | string[] | undefined;
      if (location === 'query') {
        const all = exchange.query.getAll(parameter.name);
        raw = all.length === 0 ? undefined : all.length === 1 ? all[0] : all;
      } else if (location === 'path') {
        raw = exchange.match.kind === 'operation' ? exchange.match.params[parameter.name] : undefined;
      } else if (location === 'header') {
        raw = exchange.req.headers[parameter.name.toLowerCase()];
      } else {
        cookies ??= parseCookies(exchange.req.headers.cookie);
        raw = cookies[parameter.name];
      }
      if (raw !== undefined) target[parameter.name] = coerceParameter(raw, parameter.schema);
      else if (parameter.schema['default'] !== undefined)
        target[parameter.name] = parameter.schema['default'];
    }
    if (!validate(target)) addAjvErrors(violations, location, validate.errors);
    values[location] = target;
  }
  return values;
}

/** The first alternative of the operation's security whose schemes all passed gives the caller. */
function principalOf(context: Context): Principal | undefined {
  for (const requirement of context.operation.security ?? []) {
    const names = Object.keys(requirement);
    const results = names.map((name) => (context.security as Record<string, unknown>)[name]);
    if (names.length > 0 && results.every((r) => typeof r === 'object' && r !== null && !('error' in r))) {
      return results[0] as Principal;
    }
  }
  return undefined;
}

function challenge(operation: OperationSpec, spec: Spec): string {
  const schemes = (spec.document.components?.['securitySchemes'] ?? {}) as Record<
    string,
    Record<string, unknown>
  >;
  const names = operation.security.flatMap((requirement) => Object.keys(requirement));
  const types = new Set(names.map((name) => schemes[name]?.['type']));
  const parts: string[] = [];
  if (types.has('oauth2') || types.has('http')) parts.push('Bearer');
  if (types.has('apiKey')) parts.push('ApiKey');
  return parts.join(', ') || 'Bearer';
}

/**
 * Creates the backend: registers one wrapper per operation that validates the
 * handler's reply against the contract before it is written.
 */
export async function createBackend(options: BackendOptions): Promise<Backend> {
  const { spec, validation, handlers, security, deps, responseValidation, bodies } = options;
  const deprecations = deprecationsFor(spec, deps);
  const api = new OpenAPIBackend({
    // openapi-backend dereferences its copy in place; the contract's own document stays untouched.
    definition: structuredClone(spec.document) as unknown as Document,
    // 5.x checks documents against the 3.0 meta-schema and registers no routes for 3.1 unless quick.
    quick: true,
    validate: false,
    strict: true,
  });
  // init() must run before the router is replaced: handleRequest() runs it on first use
  // otherwise, and it installs openapi-backend's own (linear, per-request) router.
  await api.init();
  api.router = new IndexedRouter({ definition: api.definition });

  const missing = spec.operations.filter((op) => handlers[op.operationId] === undefined);
  if (missing.length > 0) {
    throw new Error(`No handler for: ${missing.map((op) => op.operationId).join(', ')}`);
  }

  const operationOf = (context: Context): OperationSpec => {
    const operation = spec.byId.get(context.operation.operationId ?? '');
    if (operation === undefined) throw new Error(`Unknown operation ${context.operation.operationId}`);
    return operation;
  };

  api.register({
    notFound: (_context: Context, ...args: unknown[]) => {
      const { req, pathname } = exchangeOf(args);
      throw new ApiError(404, `No operation matches ${req.method} ${pathname}.`);
    },
    methodNotAllowed: (_context: Context, ...args: unknown[]) => {
      const { req, pathname, match } = exchangeOf(args);
      const allow = match.kind === 'method-not-allowed' ? match.allow.join(', ') : '';
      throw new ApiError(405, `${req.method} is not allowed on ${pathname}; allowed: ${allow}.`, {
        headers: { Allow: allow },
      });
    },
    unauthorizedHandler: (context: Context) => {
      const operation = operationOf(context);
      const errors = Object.values(context.security as Record<string, unknown>).map((result) =>
        typeof result === 'object' && result !== null ? (result as { error?: unknown }).error : undefined,
      );
      // A scheme that failed for another reason (the database is down, a bug) is not a credentials problem.
      const broken = errors.find((error) => error !== undefined && !(error instanceof ApiError));
      if (broken !== undefined) {
        throw broken instanceof Error ? broken : new Error('security handler failed', { cause: broken });
      }
      const failures = errors.filter((error): error is ApiError => error instanceof ApiError);
      const forbidden = failures.find((error) => error.status === 403);
      if (forbidden !== undefined) throw forbidden;
      const unauthorized = failures.find((error) => error.status === 401);
      throw new ApiError(401, unauthorized?.detail ?? 'This operation needs credentials.', {
        headers: { 'WWW-Authenticate': challenge(operation, spec), ...unauthorized?.headers },
      });
    },
    postSecurityHandler: async (context: Context, ...args: unknown[]) => {
      const exchange = exchangeOf(args);
      const operation = operationOf(context);
      if (context.security.authorized) exchange.principal = principalOf(context);
      // Counted once the caller is known (its account, else its address), before any body is read.
      if (operation.rateLimit !== undefined) await countRequest(operation.rateLimit, exchange);
      if (!context.security.authorized) return;
      // x-roles: the roles allowed to call the operation, enforced here and nowhere else.
      const role = exchange.principal?.role;
      if (operation.roles !== undefined && (role === undefined || !operation.roles.includes(role))) {
        throw new ApiError(403, 'Your role may not call this operation.');
      }
    },
    preOperationHandler: async (context: Context, ...args: unknown[]) => {
      const exchange = exchangeOf(args);
      const operation = operationOf(context);
      // Read only now that the caller is authorised: an anonymous client's body is never parsed.
      // Most operations declare no body: no read, and no await for it.
      const body =
        operation.requestBody === undefined
          ? undefined
          : await bodies.read(exchange.req, exchange.res, operation);
      exchange.release = body?.release;
      const violations = new Violations();
      const values = readParameters(operation, validation, exchange, violations);
      if (body !== undefined) {
        const validate = validation.operation(operation.operationId).bodies.get(body.mediaType);
        if (validate !== undefined && !validate(body.validationValue ?? body.value))
          addAjvErrors(violations, 'body', validate.errors);
        if (body.mayHoldNul !== false) addNulViolations(violations, 'body', body.value);
      }
      for (const location of ['path', 'query', 'header', 'cookie'] as const) {
        const given = values[location];
        if (given !== undefined && Object.keys(given).length > 0)
          addNulViolations(violations, location, given);
      }
      if (violations.total > 0) {
        await exchange.release?.();
        throw validationError(violations);
      }
      exchange.input = {
        operationId: operation.operationId,
        path: values['path'],
        query: values['query'],
        header: values['header'],
        cookie: values['cookie'],
        body: body?.value,
        principal: exchange.principal,
        requestId: exchange.state.requestId,
        // A getter: Express works the address out (trust proxy) only for the handlers that ask.
        get clientIp(): string {
          return exchange.req.ip ?? exchange.req.socket.remoteAddress ?? 'unknown';
        },
      };
      // Who sent it is worked out only when a deprecated field was used.
      deprecations.used(operation.operationId, exchange.input, () =>
        String(exchange.principal?.userId ?? exchange.req.ip ?? 'unknown'),
      );
    },
  });

  for (const [name, check] of Object.entries(security)) {
    api.registerSecurityHandler(name, async (_context: Context, ...args: unknown[]) => {
      const exchange = exchangeOf(args);
      return check({ headers: exchange.req.headers, query: exchange.query }, deps);
    });
  }

  for (const operation of spec.operations) {
    const handler = handlers[operation.operationId] as AnyHandler;
    api.register(operation.operationId, async (_context: Context, ...args: unknown[]) => {
      const exchange = exchangeOf(args);
      try {
        const reply = await handler(exchange.input, deps);
        return checkReply(operation, reply, exchange.state);
      } finally {
        // Uploaded parts the handler did not keep (it failed, or answered an error) are removed.
        await exchange.release?.().catch((error: unknown) => {
          exchange.state.log.error({ err: error }, 'could not remove uploaded parts');
        });
      }
    });
  }

  /** Counts the request under its operation's rate-limit policy; a client over the limit gets 429. */
  async function countRequest(policy: RateLimitPolicy, exchange: Exchange): Promise<void> {
    const address = exchange.req.ip ?? exchange.req.socket.remoteAddress ?? 'unknown';
    const client = rateLimitClient(exchange.principal?.userId, address);
    const headers = await deps.auth.rateLimits.consume(policy, client);
    if (headers !== undefined)
      for (const name in headers) exchange.res.setHeader(name, headers[name] as string);
  }

  /** Validates a handler's reply against the declared status, media type, headers and schema. */
  function checkReply(operation: OperationSpec, reply: ReplyLike, state: RequestState): OutgoingReply {
    const declared = validation.operation(operation.operationId).responses.get(reply.status);
    const types = declared === undefined ? [] : [...declared.keys()];
    const mediaType = reply.contentType ?? types[0];
    if (responseValidation === 'off') return { ...reply, mediaType };
    const problems: string[] = [];
    const covering =
      declared === undefined || mediaType === undefined ? undefined : coveringMediaType(declared, mediaType);
    if (declared === undefined) {
      problems.push(`status ${reply.status} is not declared`);
    } else if (reply.body === undefined) {
      if (types.length > 0) problems.push(`status ${reply.status} must have a body`);
    } else if (mediaType === undefined || covering === undefined) {
      problems.push(`media type ${String(mediaType)} is not declared for status ${reply.status}`);
    } else if (isBinaryBody(reply.body)) {
      if (isJson(mediaType)) problems.push(`a ${mediaType} body must be a JSON value, not a byte stream`);
    } else {
      const validate = declared.get(covering);
      if (validate !== undefined && !validate(reply.body)) {
        for (const e of toFieldErrors('body', validate.errors, 20))
          problems.push(`${e.path || '/'} ${e.message}`);
      }
    }
    const headerValidators = validation.operation(operation.operationId).responseHeaders.get(reply.status);
    const declaredHeaders = operation.responses.get(reply.status)?.headers;
    for (const [name, validate] of headerValidators ?? []) {
      if (name === 'X-Request-ID' || name === 'X-Process-Time' || name.startsWith('RateLimit')) continue;
      const value = reply.headers?.[name];
      const header = declaredHeaders?.get(name);
      if (value === undefined) {
        if (header?.required === true) problems.push(`header ${name} is required`);
      } else if (!validate(header === undefined ? value : coerceParameter(value, header.schema))) {
        problems.push(`header ${name} does not match its schema`);
      }
    }
    if (problems.length === 0) return { ...reply, mediaType };
    deps.metrics.responseInvalid(operation.operationId);
    // state.log makes a child logger: only now, when there is something to say.
    state.log.error(
      { operationId: operation.operationId, status: reply.status, problems },
      'response does not match the contract',
    );
    if (responseValidation === 'log') return { ...reply, mediaType };
    throw new ApiError(500, 'An unexpected error occurred.');
  }

  return {
    api,
    async handle(exchange: Exchange): Promise<OutgoingReply> {
      const { match, res } = exchange;
      if (match.kind === 'operation') deprecations.announce(match.operation.operationId, res);
      const request: RoutedRequest = {
        method: exchange.req.method,
        path: exchange.pathname,
        headers: exchange.req.headers as Record<string, string | string[]>,
        exchange,
      };
      return (await api.handleRequest(request, exchange)) as OutgoingReply;
    },
  };
}
