/**
 * The one error mapper: anything thrown while serving a request becomes an
 * RFC 9457 problem document. Only `ApiError` details reach the client; any
 * other error is logged with the request id and answered with a bare 500.
 */
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ApiError } from '../contract/errors.js';
import type { FieldError } from '../contract/errors.js';
import type { ProblemTypeUri } from '../contract/problems.js';
import { isDatabaseUnavailable } from '../db/errors.js';

export const PROBLEM_JSON = 'application/problem+json';

/** What a 503 asks the client to wait before retrying. */
const RETRY_AFTER_SECONDS = 5;

export interface ProblemBody {
  type: ProblemTypeUri;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  request_id?: string;
  errors?: FieldError[];
  errors_omitted?: number;
}

export interface Problem {
  readonly status: number;
  readonly body: ProblemBody;
  readonly headers: Readonly<Record<string, string>>;
}

/** Longest `detail` or `instance` a problem carries: both may echo what the client sent (a path, a header). */
const MAX_ECHO = 300;

const clip = (text: string): string => (text.length <= MAX_ECHO ? text : `${text.slice(0, MAX_ECHO - 1)}…`);

/** A path cut to MAX_ECHO characters that is still a URI reference: ASCII dots, no half escape. */
const clipPath = (path: string): string =>
  path.length <= MAX_ECHO ? path : `${path.slice(0, MAX_ECHO - 3).replace(/%[0-9A-Fa-f]?$/, '')}...`;

/** The problem document of an `ApiError`, as the client gets it. */
export function apiErrorBody(error: ApiError, path: string, requestId: string): ProblemBody {
  const body: ProblemBody = {
    type: error.type,
    title: error.title,
    status: error.status,
    detail: clip(error.detail),
    instance: clipPath(path),
  };
  if (error.errors !== undefined) body.errors = [...error.errors];
  if (error.omittedErrors > 0) body.errors_omitted = error.omittedErrors;
  if (error.status >= 500) body.request_id = requestId;
  return body;
}

/** Maps anything thrown to a problem; logs what the client must not see. */
export function toProblem(error: unknown, path: string, requestId: string, log: Logger): Problem {
  if (error instanceof ApiError) {
    if (error.status >= 500) {
      // 503 is a dependency being away (expected in an outage); other 5xx are bugs worth a stack.
      if (error.status === 503) log.warn({ status: 503 }, error.detail);
      else log.error({ err: error.cause ?? error }, error.detail);
    }
    return { status: error.status, body: apiErrorBody(error, path, requestId), headers: error.headers };
  }
  if (isDatabaseUnavailable(error)) {
    // An outage, not a bug: tell the client to come back, and keep the log line short.
    log.warn({ err: { message: (error as Error).message } }, 'database unavailable');
    const outage = new ApiError(
      'database-unavailable',
      'The database is not available right now; try again shortly.',
      {
        headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
      },
    );
    return { status: outage.status, body: apiErrorBody(outage, path, requestId), headers: outage.headers };
  }
  log.error({ err: error }, 'unhandled error');
  const internal = new ApiError('internal-error', 'An unexpected error occurred.');
  return { status: internal.status, body: apiErrorBody(internal, path, requestId), headers: {} };
}

/** Writes a problem, unless the response has already started (then the connection is cut). */
export function sendProblem(res: ServerResponse, problem: Problem): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  const payload = JSON.stringify(problem.body);
  res.statusCode = problem.status;
  res.setHeader('Content-Type', `${PROBLEM_JSON}; charset=utf-8`);
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  res.end(payload);
}
