/**
 * The reply check: a handler's reply (status, media type, body, declared
 * headers) is compared with what the contract declares for its operation
 * before it is written. In `enforce` mode a reply that breaks the contract
 * becomes a 500 problem; in `log` mode it is written and logged; `off` skips it.
 */
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
  readonly headers?: Readonly<Record<string, string>>;
  readonly contentType?: string;
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

/** The reply check of one operation; its validators are looked up on first use. */
export function compileReplyCheck(
  operation: OperationSpec,
  validation: Validation,
  metrics: Metrics,
  mode: ResponseValidation,
): ReplyCheck {
  const { operationId } = operation;
  const check = (reply: ReplyLike, state: RequestState): OutgoingReply => {
    const validators = validation.operation(operationId);
    const declared = validators.responses.get(reply.status);
    const mediaType = reply.contentType ?? (declared === undefined ? undefined : firstKey(declared));
    if (mode === 'off') return { ...reply, mediaType };
    const problems: string[] = [];
    const covering =
      declared === undefined || mediaType === undefined ? undefined : coveringMediaType(declared, mediaType);
    if (declared === undefined) {
      problems.push(`status ${reply.status} is not declared`);
    } else if (reply.body === undefined) {
      if (declared.size > 0) problems.push(`status ${reply.status} must have a body`);
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
    const headerValidators = validators.responseHeaders.get(reply.status);
    if (headerValidators !== undefined && headerValidators.size > 0) {
      const declaredHeaders = operation.responses.get(reply.status)?.headers;
      for (const [name, validate] of headerValidators) {
        if (name === 'X-Request-ID' || name === 'X-Process-Time' || name.startsWith('RateLimit')) continue;
        const value = reply.headers?.[name];
        const header = declaredHeaders?.get(name);
        if (value === undefined) {
          if (header?.required === true) problems.push(`header ${name} is required`);
        } else if (!validate(header === undefined ? value : coerceParameter(value, header.schema))) {
          problems.push(`header ${name} does not match its schema`);
        }
      }
    }
    if (problems.length === 0) return { ...reply, mediaType };
    metrics.responseInvalid(operationId);
    // state.log makes a child logger: only now, when there is something to say.
    state.log.error({ operationId, status: reply.status, problems }, 'response does not match the contract');
    if (mode === 'log') return { ...reply, mediaType };
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
