/**
 * Conditional requests on versioned rows (RFC 9110 §13): the strong ETag of a
 * row is its version, `If-None-Match` on reads, `If-Match` on writes. The
 * comparison itself happens in SQL, in the statement that writes
 * (`… where id = $1 and version in ($2, …)`), so two writers holding the same
 * tag can never both succeed.
 */
import type { ConditionalResource } from '../config.js';
import type { ApiError } from '../contract/errors.js';
import type { Fail } from '../contract/types.js';
import type { Deps } from '../deps.js';

/** The operations that write a versioned row under `If-Match`. */
type ConditionalWrite = 'updateUser' | 'deleteUser' | 'updateItem' | 'deleteItem';

/** The strong entity tag of a row at this version. */
export const versionTag = (version: number): string => `"${version}"`;

/** `If-None-Match` (weak comparison), the same rule downloads use. */
export { noneMatch } from '../files/range.js';

/**
 * What a write may overwrite: any version (no `If-Match`, or `*`), or only
 * the listed ones. Weak and malformed tags never match (strong comparison),
 * so `If-Match: W/"3"` is a 412, as RFC 9110 requires.
 */
export type Precondition =
  { readonly kind: 'any' } | { readonly kind: 'versions'; readonly versions: number[] };

/**
 * Reads `If-Match` for a write to `resource`; throws 428 when it is missing
 * and the operator requires it (IF_MATCH_REQUIRED).
 */
export function ifMatch(
  fail: Fail<ConditionalWrite>,
  deps: Deps,
  resource: ConditionalResource,
  header: string | undefined,
): Precondition {
  if (header === undefined) {
    if (deps.config.ifMatchRequired.has(resource)) {
      throw fail(428, 'precondition-required', 'Send If-Match with the ETag of the copy you are changing.');
    }
    return { kind: 'any' };
  }
  if (header.trim() === '*') return { kind: 'any' };
  const versions = header
    .split(',')
    .map((tag) => /^"(\d{1,9})"$/.exec(tag.trim())?.[1])
    .filter((digits): digits is string => digits !== undefined)
    .map(Number);
  return { kind: 'versions', versions };
}

/** The 412 for a write whose `If-Match` names none of the current version. */
export const changedMeanwhile = (fail: Fail<ConditionalWrite>, what: string): ApiError =>
  fail(
    412,
    'precondition-failed',
    `The ${what} has changed since the ETag in If-Match; read it again and retry.`,
  );
