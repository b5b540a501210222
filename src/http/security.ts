/**
 * The security stage of an operation, compiled once: its schemes' handlers
 * (src/auth) run, the first alternative whose schemes all passed gives the
 * caller, and `x-roles` decides whether that caller may call the operation.
 * Operations without security get no stage at all.
 *
 * Same outcome as openapi-backend's security step: every scheme the operation
 * names runs; a scheme without a handler, a falsy result or a thrown error
 * fails it; an alternative passes when all its schemes pass; an empty
 * alternative (`{}`) passes without a caller.
 */
import { ApiError } from '../contract/errors.js';
import type { OperationSpec, Spec } from '../contract/spec.js';
import type { Principal, SecurityHandler, SecurityHandlers, SecurityRequest } from '../contract/types.js';
import type { Deps } from '../deps.js';

/** Resolves with the caller (undefined for an empty alternative); throws the 401/403 problem. */
export type Authenticate = (request: SecurityRequest) => Promise<Principal | undefined>;

/** A scheme's result: the caller it returned, or what it threw. */
type Outcome = unknown;

interface Failure {
  readonly error: unknown;
}

const isFailure = (result: unknown): result is Failure =>
  typeof result === 'object' && result !== null && 'error' in result;

async function runScheme(
  handler: SecurityHandler | undefined,
  request: SecurityRequest,
  deps: Deps,
): Promise<Outcome> {
  if (handler === undefined) return undefined;
  try {
    return await handler(request, deps);
  } catch (error) {
    return {
      error:
        error === undefined || error === null || error === false || error === 0 || error === ''
          ? new Error('security handler rejected')
          : error,
    };
  }
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

/** Why no alternative passed, as the problem the client gets (or the error that broke a scheme). */
function refusal(results: readonly Outcome[], wwwAuthenticate: string): Error {
  const errors = results.map((result) => (isFailure(result) ? result.error : undefined));
  // A scheme that failed for another reason (the database is down, a bug) is not a credentials problem.
  const broken = errors.find((error) => error !== undefined && !(error instanceof ApiError));
  if (broken !== undefined) {
    return broken instanceof Error ? broken : new Error('security handler failed', { cause: broken });
  }
  const failures = errors.filter((error): error is ApiError => error instanceof ApiError);
  const forbidden = failures.find((error) => error.status === 403);
  if (forbidden !== undefined) return forbidden;
  const unauthorized = failures.find((error) => error.status === 401);
  return new ApiError('unauthorized', unauthorized?.detail ?? 'This operation needs credentials.', {
    headers: { 'WWW-Authenticate': wwwAuthenticate, ...unauthorized?.headers },
  });
}

/** The operation's security stage, or undefined when it declares no security. */
export function compileSecurity(
  operation: OperationSpec,
  spec: Spec,
  handlers: SecurityHandlers,
  deps: Deps,
): Authenticate | undefined {
  const requirements = operation.security;
  if (requirements.length === 0) return undefined;
  const names = [...new Set(requirements.flatMap((requirement) => Object.keys(requirement)))];
  const schemes = names.map((name) => handlers[name]);
  // Each alternative as the positions of its schemes in `names`.
  const alternatives = requirements.map((requirement) =>
    Object.keys(requirement).map((name) => names.indexOf(name)),
  );
  const wwwAuthenticate = challenge(operation, spec);
  const roles = operation.roles;
  const single = schemes.length === 1 ? schemes[0] : undefined;

  // No closure is made per request (each would cost an allocation, and a name in the bundle).
  return async (request) => {
    const results: readonly Outcome[] =
      schemes.length === 1
        ? [await runScheme(single, request, deps)]
        : await Promise.all(schemes.map((scheme) => runScheme(scheme, request, deps)));
    let passedOne = false;
    // The first alternative whose schemes all returned a caller names it.
    let principal: Principal | undefined;
    for (const alternative of alternatives) {
      if (!allPassed(alternative, results)) continue;
      passedOne = true;
      if (alternative.length > 0 && allCallers(alternative, results)) {
        principal = results[alternative[0] ?? 0] as Principal;
        break;
      }
    }
    if (!passedOne) throw refusal(results, wwwAuthenticate);
    // x-roles: the roles allowed to call the operation, enforced here and nowhere else.
    const role = principal?.role;
    if (roles !== undefined && (role === undefined || !roles.includes(role))) {
      throw new ApiError('forbidden', 'Your role may not call this operation.');
    }
    return principal;
  };
}

/** Whether every scheme of an alternative passed (returned something truthy). */
function allPassed(alternative: readonly number[], results: readonly Outcome[]): boolean {
  for (const position of alternative) {
    const result = results[position];
    if (!result || (isFailure(result) && Boolean(result.error))) return false;
  }
  return true;
}

/** Whether every scheme of an alternative returned a caller object. */
function allCallers(alternative: readonly number[], results: readonly Outcome[]): boolean {
  for (const position of alternative) {
    const result = results[position];
    if (typeof result !== 'object' || result === null || isFailure(result)) return false;
  }
  return true;
}
