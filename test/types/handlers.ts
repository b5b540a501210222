/**
 * Compile-only checks that the contract's types bite: each `@ts-expect-error`
 * below must be an error for `tsc --noEmit` to pass. Never run, never imported.
 */
import type { Handler, HandlerMap, Reply } from '../../src/contract/types.js';
import { getHealth, getProtected, getReadiness, getRoot } from '../../src/handlers/system.js';
import type { Deps } from '../../src/deps.js';

// A map without one of the contract's operations does not compile.
// @ts-expect-error getHealth is missing
export const missingHandler: HandlerMap = { getRoot, getReadiness, getProtected };

// A map with an operation the contract does not have does not compile either.
export const extraHandler: HandlerMap = {
  getRoot,
  getHealth,
  getReadiness,
  getProtected,
  // @ts-expect-error getNothing is not an operation of the contract
  getNothing: getRoot,
};

// A status the operation does not declare.
export async function undeclaredStatus(): Promise<Reply<'getHealth'>> {
  // @ts-expect-error getHealth declares 200 and 500, not 201
  return { status: 201, body: { status: 'healthy' } };
}

// A body of the wrong shape for a declared status.
export async function wrongBody(): Promise<Reply<'getHealth'>> {
  // @ts-expect-error `status` must be the literal "healthy"
  return { status: 200, body: { status: 'sick' } };
}

// A stray field is caught when the handler declares its reply type.
export async function strayField(): Promise<Reply<'getRoot'>> {
  // @ts-expect-error `extra` is not in the Message schema
  return { status: 200, body: { message: 'Hello World', extra: true } };
}

// A declared status with the body of another status.
export async function crossedBodies(): Promise<Reply<'getReadiness'>> {
  // @ts-expect-error a 200 from getReadiness is Readiness, not a Problem
  return { status: 200, body: { type: 'about:blank', title: 'Service Unavailable', status: 503 } };
}

// A handler typed for one operation cannot stand in for another.
// @ts-expect-error getRoot answers Message, getHealth answers Health
export const swapped: Handler<'getHealth'> = getRoot;

// The contract's handler types are bound to the app's Deps (AppBinding in src/deps.ts):
// a handler that needs something Deps does not have does not fit.
// @ts-expect-error Deps has no `mailer`
export const needsMore: Handler<'getRoot'> = async (_input, deps: Deps & { mailer: unknown }) => {
  void deps;
  return { status: 200, body: { message: 'Hello World' } };
};
