/**
 * One pipeline per operation, compiled at start-up:
 *
 *   start-up gate → deprecation headers → hooks before security → security + x-roles
 *   → rate limit (per account, else per address) → body read (only when the operation declares one) → parameters coerced,
 *   Ajv on parameters and body, NUL scan → hooks before the handler → handler
 *   (with its timeout) → reply check → serialised with precomputed headers.
 *
 * Each stage the operation does not need is left out when it is compiled: no
 * security stage for a public operation, no body read without a request body.
 * Every error, from any stage, becomes one problem+json answer.
 */
import type { ResponseValidation } from '../config.js';
import { ApiError, validationError } from '../contract/errors.js';
import type { ApiErrorOptions } from '../contract/errors.js';
import type { ProblemSlug } from '../contract/problems.js';
import { rateLimitClient } from '../auth/rate-limits.js';
import type { Deprecations } from '../contract/deprecation.js';
import type { OperationSpec, RateLimitPolicy, Spec } from '../contract/spec.js';
import type { Principal, SecurityHandlers } from '../contract/types.js';
import type { Validation } from '../contract/validation.js';
import type { Deps } from '../deps.js';
import type { HandlerRegistry } from './backend.js';
import type { BodyParsers, ParsedBody } from './body.js';
import type { Exchange } from './exchange.js';
import { checkInput } from './input.js';
import type { ParameterValues } from './input.js';
import { toProblem } from './problem.js';
import { compileReplyCheck } from './reply-check.js';
import { isBinaryBody } from './response.js';
import type { ResponseWriter } from './response.js';
import { Deadlines } from './deadlines.js';
import { compileSecurity } from './security.js';

/**
 * A step a team adds to every operation's pipeline. It may read the exchange
 * (request, operation, caller), throw an `ApiError` to answer with a problem,
 * or return a promise when it must wait for something.
 */
export type PipelineStage = (exchange: Exchange) => void | Promise<void>;

export interface PipelineHooks {
  /** Run after the start-up gate, before security (rate limits, IP rules). */
  readonly beforeSecurity?: readonly PipelineStage[];
  /** Run once the input is validated, just before the handler (the caller is known). */
  readonly beforeHandler?: readonly PipelineStage[];
}

/** What every pipeline shares: built once per server. */
export interface PipelineParts {
  readonly spec: Spec;
  readonly validation: Validation;
  readonly deps: Deps;
  readonly registry: HandlerRegistry;
  readonly security: SecurityHandlers;
  readonly bodies: BodyParsers;
  readonly writer: ResponseWriter;
  readonly gate: (operationId: string) => void;
  readonly responseValidation: ResponseValidation;
  /** The handler timeout of every request in flight (handlerDeadlines); undefined when there is none. */
  readonly deadlines: Deadlines<Exchange> | undefined;
  readonly hooks: PipelineHooks;
  /** Deprecation and sunset headers, and the uses of deprecated fields (src/contract/deprecation.ts). */
  readonly deprecations: Deprecations;
}

/** Serves one request of its operation; never rejects (errors are answered as problems). */
export type Pipeline = (exchange: Exchange) => Promise<void>;

/** What a handler receives (`Input<Id>` in src/contract/types.ts). */
class HandlerInput {
  readonly #exchange: Exchange;

  constructor(
    readonly operationId: string,
    values: ParameterValues,
    readonly body: unknown,
    readonly principal: Principal | undefined,
    readonly requestId: string,
    exchange: Exchange,
  ) {
    this.path = values.path;
    this.query = values.query;
    this.header = values.header;
    this.cookie = values.cookie;
    this.#exchange = exchange;
  }

  readonly path: Record<string, unknown>;
  readonly query: Record<string, unknown>;
  readonly header: Record<string, unknown>;
  readonly cookie: Record<string, unknown>;

  /** Worked out (trust proxy) only for the handlers that ask. */
  get clientIp(): string {
    return this.#exchange.clientIp();
  }

  /** `Input.fail`: tsc holds the status and type to the operation's; the reply check does at run time. */
  fail(status: number, type: ProblemSlug, detail: string, options?: ApiErrorOptions): ApiError {
    const error = new ApiError(type, detail, options);
    if (error.status !== status)
      throw new Error(`problem type ${type} is sent with ${error.status}, not ${status}`);
    return error;
  }
}

/** The parameter values of an operation that declares none. */
const NO_VALUES: ParameterValues = Object.freeze({
  path: Object.freeze({}),
  query: Object.freeze({}),
  header: Object.freeze({}),
  cookie: Object.freeze({}),
});

/** Answers any error as a problem document. */
export function answerError(writer: ResponseWriter, exchange: Exchange, error: unknown): void {
  const { state } = exchange;
  writer.problem(exchange.res, state, toProblem(error, exchange.pathname, state.requestId, state.log));
}

/**
 * The handler timeout of a server's pipelines, HANDLER_TIMEOUT_MS (none when 0).
 * A handler that takes too long gets 503 at once. It cannot be cancelled: it
 * goes on, its late reply is dropped and logged (its database work is bounded
 * by the statement timeout; an order it commits is found again by its Idempotency-Key).
 */
export function handlerDeadlines(ms: number, writer: ResponseWriter): Deadlines<Exchange> | undefined {
  if (ms === 0) return undefined;
  return new Deadlines<Exchange>(ms, (exchange) => {
    exchange.timedOut = true;
    answerError(
      writer,
      exchange,
      new ApiError('handler-timeout', 'The server took too long to answer this request.'),
    );
  });
}

/** Counts the request under its operation's rate-limit policy; a client over the limit gets 429. */
async function countRequest(policy: RateLimitPolicy, exchange: Exchange, deps: Deps): Promise<void> {
  const userId = exchange.principal?.userId;
  // The address (trust proxy, X-Forwarded-For) is worked out only for an anonymous caller.
  const client = rateLimitClient(userId, userId === undefined ? exchange.clientIp() : '');
  const headers = await deps.auth.rateLimits.consume(policy, client);
  if (headers !== undefined)
    for (const name in headers) exchange.state.setHeader(name, headers[name] as string);
}

/** Runs hooks in order, waiting only for those that return a promise. */
async function runStages(stages: readonly PipelineStage[], exchange: Exchange): Promise<void> {
  for (const stage of stages) {
    const pending = stage(exchange);
    if (pending !== undefined) await pending;
  }
}

/** Removes what the body left behind (uploaded parts) unless the handler kept it. */
async function release(exchange: Exchange): Promise<void> {
  const undo = exchange.release;
  if (undo === undefined) return;
  exchange.release = undefined;
  await undo().catch((error: unknown) => {
    exchange.state.log.error({ err: error }, 'could not remove uploaded parts');
  });
}

/** Compiles the pipeline of one operation. */
export function compilePipeline(operation: OperationSpec, parts: PipelineParts): Pipeline {
  const { validation, deps, writer, gate, hooks } = parts;
  const { operationId } = operation;
  const handler = parts.registry.handler(operationId);
  const authenticate = compileSecurity(operation, parts.spec, parts.security, deps);
  const readsBody = operation.requestBody !== undefined;
  const checkReply = compileReplyCheck(operation, validation, deps.metrics, parts.responseValidation);
  // Uploads stream their body inside the handler, so their time depends on the client: no limit.
  const deadlines =
    operation.requestBody?.content.has('multipart/form-data') === true ? undefined : parts.deadlines;
  const beforeSecurity = hooks.beforeSecurity ?? [];
  const rateLimit = operation.rateLimit;
  const beforeHandler = hooks.beforeHandler ?? [];
  const watchesFields = parts.deprecations.watchesFields(operationId);
  // An operation without parameters or a body has nothing to coerce or validate.
  const hasInput = readsBody || operation.parameters.length > 0;

  return async function serve(exchange: Exchange): Promise<void> {
    const { state } = exchange;
    state.operationId = operationId;
    try {
      gate(operationId);
      parts.deprecations.announce(operationId, state);
      if (beforeSecurity.length > 0) await runStages(beforeSecurity, exchange);
      if (authenticate !== undefined) {
        try {
          exchange.principal = await authenticate(exchange);
        } catch (error) {
          // A call that fails authentication counts against its address (429 once over the limit).
          if (rateLimit !== undefined) await countRequest(rateLimit, exchange, deps);
          throw error;
        }
      }
      // Counted once the caller is known (its account, else its address), before any body is read.
      if (rateLimit !== undefined) await countRequest(rateLimit, exchange, deps);
      // Read only now that the caller is authorised: an anonymous client's body is never parsed.
      let body: ParsedBody | undefined;
      if (readsBody) {
        body = await parts.bodies.read(exchange.req, exchange.res, operation);
        exchange.release = body?.release;
      }
      let values = NO_VALUES;
      if (hasInput) {
        const checked = checkInput(operation, validation, exchange, body);
        if (checked.violations.total > 0) {
          await release(exchange);
          throw validationError(checked.violations);
        }
        values = checked.values;
      }

      if (beforeHandler.length > 0) await runStages(beforeHandler, exchange);
      const input = new HandlerInput(
        operationId,
        values,
        body?.value,
        exchange.principal,
        state.requestId,
        exchange,
      );
      // Who sent it is worked out only when a deprecated field was used.
      if (watchesFields)
        parts.deprecations.used(operationId, input as unknown as Record<string, unknown>, () =>
          String(exchange.principal?.userId ?? exchange.clientIp()),
        );
      deadlines?.add(exchange);
      let result;
      try {
        result = await handler(input, deps);
      } catch (error) {
        // A problem the handler raised is held to the contract like a reply it returned.
        if (!exchange.timedOut) throw checkReply.thrown(error, state);
        return;
      } finally {
        deadlines?.settle(exchange);
        if (exchange.release !== undefined) await release(exchange);
      }
      if (exchange.timedOut) {
        state.log.warn({ ms: deadlines?.ms }, 'a handler finished after its timeout; its reply was dropped');
        return;
      }
      const reply = checkReply(result, state);
      if (isBinaryBody(reply.body)) {
        writer.binary(exchange.res, state, reply, reply.body, (error) => {
          answerError(writer, exchange, error);
        });
      } else {
        writer.reply(exchange.res, state, reply);
      }
    } catch (error) {
      answerError(writer, exchange, error);
    }
  };
}
