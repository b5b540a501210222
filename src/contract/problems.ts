/**
 * The catalogue of problem types, as the contract declares it
 * (`components.schemas.ProblemType` and the per-type `…Problem` schemas): every
 * problem the server sends names one of these in `type`, with its fixed title
 * and status. `satisfies` below makes tsc reject an entry the contract lacks,
 * a missing one, or a title or status that differs from a per-type schema;
 * test/contract/problems.test.ts holds it to the catalogue's own titles and to
 * docs/errors.md.
 */
import type { components } from '../../generated/openapi.js';

type Schemas = components['schemas'];

/** A problem type URI of the catalogue, e.g. `/problems/email-taken`. */
export type ProblemTypeUri = Schemas['ProblemType'];

/** The last segment of a catalogued URI, e.g. `email-taken`. */
export type ProblemSlug = ProblemTypeUri extends `/problems/${infer Slug}` ? Slug : never;

/** The URI of a slug. */
export type UriOf<Slug extends ProblemSlug> = `/problems/${Slug}`;

/** Where every catalogued URI starts; relative, so it resolves against the server that sent it. */
export const PROBLEM_BASE = '/problems/';

/** The per-type schemas of the contract (a literal `type` and `title`), by slug. */
type PerTypeSchemas = {
  [
    K in keyof Schemas as Schemas[K] extends { type: `/problems/${infer Slug}`; title: infer Title }
      ? string extends Title
        ? never
        : Slug
      : never
  ]: Schemas[K];
};

/** What a per-type schema fixes: the entry must agree with it. */
type Agreeing = {
  readonly [Slug in ProblemSlug]: Slug extends keyof PerTypeSchemas
    ? { readonly status: PerTypeSchemas[Slug]['status']; readonly title: PerTypeSchemas[Slug]['title'] }
    : { readonly status: number; readonly title: string };
};

export const PROBLEM_TYPES = {
  'malformed-body': { status: 400, title: 'Malformed request body' },
  'malformed-path': { status: 400, title: 'Malformed request path' },
  'invalid-upgrade': { status: 400, title: 'Invalid WebSocket upgrade' },
  unauthorized: { status: 401, title: 'Authentication required' },
  'login-failed': { status: 401, title: 'Incorrect email or password' },
  forbidden: { status: 403, title: 'Forbidden' },
  'not-found': { status: 404, title: 'Resource not found' },
  'route-not-found': { status: 404, title: 'No such operation' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'email-taken': { status: 409, title: 'Email already registered' },
  'username-taken': { status: 409, title: 'Username already taken' },
  'idempotency-key-reused': { status: 409, title: 'Idempotency-Key reused' },
  'operation-retired': { status: 410, title: 'Operation retired' },
  'precondition-failed': { status: 412, title: 'Precondition failed' },
  'content-too-large': { status: 413, title: 'Content too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'range-not-satisfiable': { status: 416, title: 'Range not satisfiable' },
  'validation-failed': { status: 422, title: 'Validation failed' },
  'upgrade-required': { status: 426, title: 'Upgrade required' },
  'precondition-required': { status: 428, title: 'Precondition required' },
  'rate-limited': { status: 429, title: 'Rate limit exceeded' },
  'login-throttled': { status: 429, title: 'Too many failed logins' },
  'too-many-connections': { status: 429, title: 'Too many WebSocket connections' },
  'internal-error': { status: 500, title: 'Internal server error' },
  'service-starting': { status: 503, title: 'Service starting' },
  'shutting-down': { status: 503, title: 'Service shutting down' },
  'database-unavailable': { status: 503, title: 'Database unavailable' },
  'handler-timeout': { status: 503, title: 'Request timed out' },
} as const satisfies Agreeing;

/** The status a catalogued type is always sent with. */
export type StatusOfProblem<Slug extends ProblemSlug> = (typeof PROBLEM_TYPES)[Slug]['status'];

/** The catalogue entry of a type URI, if it is one. */
export function problemTypeOf(uri: string): { slug: ProblemSlug; status: number; title: string } | undefined {
  if (!uri.startsWith(PROBLEM_BASE)) return undefined;
  const slug = uri.slice(PROBLEM_BASE.length);
  if (!Object.hasOwn(PROBLEM_TYPES, slug)) return undefined;
  const entry = PROBLEM_TYPES[slug as ProblemSlug];
  return { slug: slug as ProblemSlug, status: entry.status, title: entry.title };
}
