/**
 * The start-up gate shared by the HTTP operations (src/http) and the WebSocket
 * upgrades (src/realtime): one 503 problem with the same Retry-After for both.
 */
import { ApiError } from './contract/errors.js';

/** Operations that answer while the database is still opening: liveness and readiness. */
const OPEN_DURING_STARTUP: ReadonlySet<string> = new Set(['getHealth', 'getReadiness']);

/**
 * Until the database is open and migrated, operations other than liveness and
 * readiness are refused at once with 503 and Retry-After, rather than left
 * waiting for a schema that is not there yet (a new embedded database takes
 * seconds to create). The contract and docs are not operations: they answer.
 * Returns a check that throws the 503.
 */
export function startupGate(isReady: () => boolean): (operationId: string) => void {
  let open = false;
  return (operationId) => {
    if (open || (open = isReady()) || OPEN_DURING_STARTUP.has(operationId)) return;
    throw new ApiError('service-starting', 'The service is starting; try again shortly.', {
      headers: { 'Retry-After': '1' },
    });
  };
}
