/** Handlers for the `system` tag: hello, liveness, readiness and the API-key example. */
import type { Input, Reply } from '../contract/types.js';
import type { Deps } from '../deps.js';

export async function getRoot(): Promise<Reply<'getRoot'>> {
  return { status: 200, body: { message: 'Hello World' } };
}

/** Liveness: never touches the database, so an outage does not get a live process restarted. */
export async function getHealth(): Promise<Reply<'getHealth'>> {
  return { status: 200, body: { status: 'healthy' } };
}

export async function getReadiness(input: Input<'getReadiness'>, deps: Deps): Promise<Reply<'getReadiness'>> {
  // Shutting down: a load balancer must stop sending new requests while this process still answers.
  if (deps.lifecycle.stopping())
    throw input.fail(503, 'shutting-down', 'The server is shutting down.', {
      headers: { 'Retry-After': '5' },
    });
  if (!(await deps.database.ping(1000)))
    throw input.fail(503, 'database-unavailable', 'The database does not answer.', {
      headers: { 'Retry-After': '5' },
    });
  return { status: 200, body: { status: 'ready', checks: { database: 'ok' } } };
}

export async function getProtected(): Promise<Reply<'getProtected'>> {
  return { status: 200, body: { message: 'Access granted' } };
}
