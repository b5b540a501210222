/**
 * Everything decided before the WebSocket handshake: which operation of the
 * contract the path names, whether its path parameters are valid, who is
 * calling (bearer token in `Authorization` or `access_token`) and whether
 * their role may. A refusal is an ordinary HTTP answer (problem+json) written
 * on the raw socket, and no socket is ever upgraded.
 */
import { rateLimitClient } from '../auth/rate-limits.js';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { bearerSecurity, principalFromToken } from '../auth/bearer.js';
import { ApiError } from '../contract/errors.js';
import { apiErrorBody } from '../http/problem.js';
import type { RouteIndex } from '../contract/routes.js';
import type { OperationSpec } from '../contract/spec.js';
import type { Principal, SecurityHandler } from '../contract/types.js';
import { coerceParameter, toFieldErrors } from '../contract/validation.js';
import type { Validation } from '../contract/validation.js';
import type { Deps } from '../deps.js';

/** The operations served on the `upgrade` event. */
export const WEBSOCKET_OPERATIONS = ['connectEcho', 'connectChat'] as const;
export type WebSocketOperation = (typeof WEBSOCKET_OPERATIONS)[number];

/**
 * The `AccessTokenQuery` scheme: the bearer token in `?access_token=`, for
 * browsers, which cannot set headers on a WebSocket. Same checks as the header.
 */
export const accessTokenQuerySecurity: SecurityHandler = async ({ query }, deps) => {
  const token = query.get('access_token');
  if (token === null || token === '') {
    throw new ApiError('unauthorized', 'This operation needs a bearer token.', {
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  }
  return principalFromToken(token, deps);
};

export interface UpgradeRequest {
  readonly operation: OperationSpec & { readonly operationId: WebSocketOperation };
  readonly path: Record<string, unknown>;
  readonly userId: number;
  readonly role: string;
  readonly requestId: string;
  /** When the access token expires (ms since the epoch): the socket is closed then. */
  readonly expiresAt: number;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

function isWebSocketOperation(id: string): id is WebSocketOperation {
  return (WEBSOCKET_OPERATIONS as readonly string[]).includes(id);
}

/**
 * Checks an upgrade request against the contract; returns what the connection
 * needs, or throws an ApiError (400, 401, 403, 404) to answer instead.
 */
export async function checkUpgrade(
  req: IncomingMessage,
  routes: RouteIndex,
  validation: Validation,
  deps: Deps,
  requestId: string,
): Promise<UpgradeRequest> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const pathname = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
    throw new ApiError('invalid-upgrade', 'Only WebSocket upgrades are served here (Upgrade: websocket).');
  }
  const match = routes.match(req.method ?? 'GET', pathname);
  if (match.kind === 'bad-path')
    throw new ApiError('malformed-path', 'The request path is not validly percent-encoded.');
  if (match.kind !== 'operation' || !isWebSocketOperation(match.operation.operationId)) {
    throw new ApiError('route-not-found', `No WebSocket endpoint at ${pathname}.`);
  }
  const operation = match.operation as UpgradeRequest['operation'];

  // Path parameters first: a malformed room is 400 whoever asks, like the HTTP pipeline's 422.
  const path: Record<string, unknown> = {};
  for (const parameter of operation.parameters.filter((p) => p.in === 'path')) {
    const raw = match.params[parameter.name];
    if (raw !== undefined) path[parameter.name] = coerceParameter(raw, parameter.schema);
  }
  const validator = validation.operation(operation.operationId).parameters.find((v) => v.location === 'path');
  if (validator !== undefined && !validator.validate(path)) {
    const errors = toFieldErrors('path', validator.validate.errors);
    const list = errors.map((e) => `path ${e.path} ${e.message}`).join('; ');
    throw new ApiError(
      'invalid-upgrade',
      `The upgrade request has ${errors.length} invalid parameter${errors.length === 1 ? '' : 's'}: ${list}.`,
    );
  }

  // The header wins when both are sent; either way the account is read now, before any handshake.
  const security = { headers: req.headers, query };
  const principal: Principal =
    req.headers.authorization !== undefined
      ? await bearerSecurity(security, deps)
      : await accessTokenQuerySecurity(security, deps);
  if (
    principal.userId === undefined ||
    principal.role === undefined ||
    principal.tokenExpiresAt === undefined
  ) {
    throw new ApiError('unauthorized', 'This operation needs a bearer token.', {
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  }
  // Counted under the operation's rate-limit policy like any HTTP call (429 over it).
  if (operation.rateLimit !== undefined) {
    await deps.auth.rateLimits.consume(operation.rateLimit, rateLimitClient(principal.userId, ''));
  }
  if (operation.roles !== undefined && !operation.roles.includes(principal.role)) {
    throw new ApiError('forbidden', 'Your role may not call this operation.');
  }
  return {
    operation,
    path,
    userId: principal.userId,
    role: principal.role,
    requestId,
    expiresAt: principal.tokenExpiresAt,
  };
}

/**
 * Answers a refused upgrade on the raw socket with a problem document and
 * closes it; the response carries the same headers as any HTTP answer.
 */
export function refuseUpgrade(
  socket: Duplex,
  error: ApiError,
  instance: string,
  requestId: string,
  startedAt: bigint,
): void {
  if (socket.destroyed) return;
  const status = error.status;
  const payload = JSON.stringify(apiErrorBody(error, instance, requestId));
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const headers: Record<string, string> = {
    Connection: 'close',
    'Content-Type': 'application/problem+json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(payload)),
    'X-Request-ID': requestId,
    'X-Process-Time': seconds.toFixed(6),
    ...error.headers,
  };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value.replace(/[\r\n]/g, ' ')}`)
    .join('\r\n');
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${head}\r\n\r\n${payload}`);
}
