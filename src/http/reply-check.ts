/**
 * The reply check: a handler's reply (status, media type, body, declared
 * headers) is compared with what the contract declares for its operation
 * before it is written. In `enforce` mode a reply that breaks the contract
 * becomes a 500 problem; in `log` mode it is written and logged; `off` skips it.
 */
import type { ValidateFunction } from 'ajv';
import type { ResponseValidation } from '../config.js';
import { ApiError } from '../contract/errors.js';
import { coveringMediaType } from '../contract/spec.js';
import type { OperationSpec } from '../contract/spec.js';
import { coerceParameter, toFieldErrors } from '../contract/validation.js';
import type { Validation } from '../contract/validation.js';
import type { Metrics } from '../metrics.js';
import { isJson } from './body.js';
import { apiErrorBody, PROBLEM_JSON } from './problem.js';
import type { RequestState } from './request-state.js';
import { isBinaryBody } from './response.js';
import type { OutgoingReply } from './response.js';

/** What a handler returns, seen without its per-operation type. */
export interface ReplyLike {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly contentType?: string | undefined;
}

export interface ReplyCheck {
  (reply: ReplyLike, state: RequestState): OutgoingReply;
  /**
   * Holds a problem the handler threw to the contract as if it had returned
   * it: the error to answer with (the same one, or a 500 when it breaks the
   * contract in `enforce` mode). Anything that is not an `ApiError` is a 500 anyway.
   */
  thrown(error: unknown, state: RequestState): unknown;
}

/** A declared response header the reply check compares with the reply's value. */
interface HeaderCheck {
  readonly name: string;
  readonly validate: ValidateFunction;
  readonly schema: Record<string, unknown> | undefined;
  readonly required: boolean;
}

/** What the check needs to know about one status of the operation, worked out on its first reply. */
interface StatusPlan {
  /** The declared media types (undefined: the status is not declared). */
  readonly declared: ReadonlyMap<string, ValidateFunction | undefined> | undefined;
  /** The media type a reply without its own is written as. */
  readonly defaultType: string | undefined;
  readonly headers: readonly HeaderCheck[];
}

/** The reply check of one operation; its validators are looked up on first use. */
export function compileReplyCheck(
  operation: OperationSpec,
  validation: Validation,
  metrics: Metrics,
  mode: ResponseValidation,
): ReplyCheck {
  const { operationId } = operation;
  const plans = new Map<number, StatusPlan>();

  const planFor = (status: number): StatusPlan => {
    let plan = plans.get(status);
    if (plan !== undefined) return plan;
    const validators = validation.operation(operationId);
    const declared = validators.responses.get(status);
    const declaredHeaders = operation.responses.get(status)?.headers;
    const headers: HeaderCheck[] = [];
    for (const [name, validate] of validators.responseHeaders.get(status) ?? []) {
      // The pipeline sets these itself, after the check.
      if (name === 'X-Request-ID' || name === 'X-Process-Time' || name.startsWith('RateLimit')) continue;
      const header = declaredHeaders?.get(name);
      headers.push({ name, validate, schema: header?.schema, required: header?.required === true });
    }
    plan = { declared, defaultType: declared === undefined ? undefined : firstKey(declared), headers };
    plans.set(status, plan);
    return plan;
  };

  const check = (reply: ReplyLike, state: RequestState): OutgoingReply => {
    const { declared, defaultType, headers } = planFor(reply.status);
    const mediaType = reply.contentType ?? defaultType;
    const outgoing: OutgoingReply = {
      status: reply.status,
      body: reply.body,
      headers: reply.headers,
      contentType: reply.contentType,
      mediaType,
    };
    if (mode === 'off') return outgoing;
    let problems: string[] | undefined;
    const covering =
      declared === undefined || mediaType === undefined ? undefined : coveringMediaType(declared, mediaType);
    if (declared === undefined) {
      (problems ??= []).push(`status ${reply.status} is not declared`);
    } else if (reply.body === undefined) {
      if (declared.size > 0) (problems ??= []).push(`status ${reply.status} must have a body`);
    } else if (mediaType === undefined || covering === undefined) {
      (problems ??= []).push(`media type ${String(mediaType)} is not declared for status ${reply.status}`);
    } else if (isBinaryBody(reply.body)) {
      if (isJson(mediaType))
        (problems ??= []).push(`a ${mediaType} body must be a JSON value, not a byte stream`);
    } else {
      const validate = declared.get(covering);
      if (validate !== undefined && !validate(reply.body)) {
        for (const e of toFieldErrors('body', validate.errors, 20))
          (problems ??= []).push(`${e.path || '/'} ${e.message}`);
      }
    }
    for (const header of headers) {
      const value = reply.headers?.[header.name];
      if (value === undefined) {
        if (header.required) (problems ??= []).push(`header ${header.name} is required`);
      } else if (
        !header.validate(header.schema === undefined ? value : coerceParameter(value, header.schema))
      ) {
        (problems ??= []).push(`header ${header.name} does not match its schema`);
      }
    }
    if (problems === undefined) return outgoing;
    metrics.responseInvalid(operationId);
    // state.log makes a child logger: only now, when there is something to say.
    state.log.error({ operationId, status: reply.status, problems }, 'response does not match the contract');
    if (mode === 'log') return outgoing;
    throw new ApiError('internal-error', 'An unexpected error occurred.');
  };
  const thrown = (error: unknown, state: RequestState): unknown => {
    if (mode === 'off' || !(error instanceof ApiError)) return error;
    const problem = {
      status: error.status,
      contentType: PROBLEM_JSON,
      headers: error.headers,
      body: apiErrorBody(error, state.path ?? '/', state.requestId),
    };
    try {
      check(problem, state);
      return error;
    } catch (refusal) {
      return refusal;
    }
  };
  return Object.assign(check, { thrown });
}

function firstKey(map: ReadonlyMap<string, unknown>): string | undefined {
  for (const key of map.keys()) return key;
  return undefined;
}
