/**
 * The one error type the service throws on purpose. `http/problem.ts` turns it
 * into an RFC 9457 problem document; anything else thrown becomes a logged 500.
 */
import { PROBLEM_BASE, PROBLEM_TYPES } from './problems.js';
import type { ProblemSlug, ProblemTypeUri } from './problems.js';

/** Where in the request a validation error was found. */
export type ErrorLocation = 'body' | 'query' | 'path' | 'header' | 'cookie';

/** One violation, as listed in a 422 problem's `errors[]`. */
export interface FieldError {
  readonly in: ErrorLocation;
  /** JSON Pointer into that part of the request, e.g. `/items/3/item_id`. */
  readonly path: string;
  readonly message: string;
  readonly keyword: string;
}

export interface ApiErrorOptions {
  readonly errors?: readonly FieldError[];
  /** Violations found beyond those listed in `errors`. */
  readonly omittedErrors?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

/**
 * An error that is safe to show the client, of a type from the contract's
 * catalogue (src/contract/problems.ts): the type fixes its status and title.
 * Handlers raise it through `input.fail`, which also checks that their
 * operation declares the status; the rest of the server constructs it directly.
 * @example throw new ApiError('route-not-found', 'No operation matches GET /nope.');
 */
export class ApiError extends Error {
  readonly status: number;
  readonly type: ProblemTypeUri;
  readonly title: string;
  readonly errors: readonly FieldError[] | undefined;
  readonly omittedErrors: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly problem: ProblemSlug,
    readonly detail: string,
    options: ApiErrorOptions = {},
  ) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    // Only reachable from untyped code: tsc holds `problem` to the catalogue.
    if (!Object.hasOwn(PROBLEM_TYPES, problem))
      throw new TypeError(`"${problem}" is not a catalogued problem type`);
    const entry = PROBLEM_TYPES[problem];
    this.name = 'ApiError';
    this.status = entry.status;
    this.type = `${PROBLEM_BASE}${problem}`;
    this.title = entry.title;
    this.errors = options.errors;
    this.omittedErrors = options.omittedErrors ?? 0;
    this.headers = options.headers ?? {};
  }
}

/** How many violations a 422 lists at most; the rest are only counted. */
export const MAX_LISTED_VIOLATIONS = 20;

/** Longest `path` or `message` a listed violation carries; longer ones are cut and end in `…`. */
export const MAX_VIOLATION_TEXT = 200;

const clip = (text: string): string =>
  text.length <= MAX_VIOLATION_TEXT ? text : `${text.slice(0, MAX_VIOLATION_TEXT - 1)}…`;

/**
 * The violations of one request: the first MAX_LISTED_VIOLATIONS are kept
 * (with their texts clipped), the others only counted, so a body built to fail
 * a hundred thousand times costs no more to answer than one that fails twenty.
 */
export class Violations {
  readonly listed: FieldError[] = [];
  total = 0;

  /** How many more would still be listed. */
  get room(): number {
    return MAX_LISTED_VIOLATIONS - this.listed.length;
  }

  add(error: FieldError): void {
    this.total += 1;
    if (this.listed.length < MAX_LISTED_VIOLATIONS) {
      this.listed.push({ ...error, path: clip(error.path), message: clip(error.message) });
    }
  }

  /** Counts `count` violations of which only those already added were listed. */
  count(unlisted: number): void {
    this.total += unlisted;
  }
}

/** The detail and options of a 422 listing the violations found (at most MAX_LISTED_VIOLATIONS of them). */
export function violationsOf(found: readonly FieldError[] | Violations): {
  detail: string;
  options: ApiErrorOptions;
} {
  let violations = found;
  if (!(violations instanceof Violations)) {
    violations = new Violations();
    for (const error of found as readonly FieldError[]) violations.add(error);
  }
  const { listed, total } = violations;
  const omitted = total - listed.length;
  const detail =
    omitted > 0
      ? `The request has ${total} validation errors; the first ${listed.length} are listed.`
      : `The request has ${total} validation error${total === 1 ? '' : 's'}.`;
  return { detail, options: { errors: listed, omittedErrors: omitted } };
}

/** A 422 listing the violations found (at most MAX_LISTED_VIOLATIONS of them). */
export function validationError(found: readonly FieldError[] | Violations): ApiError {
  const { detail, options } = violationsOf(found);
  return new ApiError('validation-failed', detail, options);
}
