/**
 * The one error type the service throws on purpose. `http/problem.ts` turns it
 * into an RFC 9457 problem document; anything else thrown becomes a logged 500.
 */

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
  readonly title?: string;
  readonly type?: string;
  readonly errors?: readonly FieldError[];
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

/**
 * An error with an HTTP status that is safe to show the client.
 * @example throw new ApiError(404, 'User not found');
 */
export class ApiError extends Error {
  readonly title: string | undefined;
  readonly type: string | undefined;
  readonly errors: readonly FieldError[] | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    readonly status: number,
    readonly detail: string,
    options: ApiErrorOptions = {},
  ) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.title = options.title;
    this.type = options.type;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

/** A 422 listing every violation found. */
export function validationError(errors: readonly FieldError[]): ApiError {
  const count = errors.length;
  return new ApiError(422, `The request has ${count} validation error${count === 1 ? '' : 's'}.`, { errors });
}
