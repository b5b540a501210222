/**
 * The node:http request listener. A request that matches an operation of the
 * contract (the start-up route index) goes to that operation's compiled
 * pipeline without touching Express (HEAD runs the path's GET operation and
 * the writer leaves the body out); OPTIONS on a contract path is 204 with
 * `Allow`, unless it is a CORS preflight, which `cors` answers; a path the
 * contract has but not for this method is a 405 problem with the same `Allow`;
 * everything else falls through to the Express app (fallback.ts).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Express, Request, RequestHandler, Response } from 'express';
import { ApiError } from '../contract/errors.js';
import type { RouteIndex, RouteMatch } from '../contract/routes.js';
import type { OperationSpec } from '../contract/spec.js';
import type { Metrics } from '../metrics.js';
import { Exchange, trustHops } from './exchange.js';
import type { Pipeline } from './pipeline.js';
import { toProblem } from './problem.js';
import { logRequest, RequestState, requestIdFor } from './request-state.js';
import type { ResponseWriter } from './response.js';

export interface ListenerOptions {
  readonly routes: RouteIndex;
  readonly pipelines: ReadonlyMap<OperationSpec, Pipeline>;
  readonly fallback: Express;
  readonly writer: ResponseWriter;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** The `cors` middleware when CORS_ORIGINS is set (it works on plain Node requests). */
  readonly cors: RequestHandler | undefined;
  readonly trustProxyHops: number;
  readonly draining: () => boolean;
  /** The API's security headers as a flat [name, value, ...] list (for CORS preflights). */
  readonly securityHeaders: readonly string[];
}

const STATE = Symbol('request state');
type TrackedResponse = ServerResponse & { [STATE]?: RequestState };

export function createRequestListener(options: ListenerOptions): RequestListener {
  const { routes, pipelines, fallback, writer, log, metrics, cors, draining } = options;
  const trust = trustHops(options.trustProxyHops);

  // One listener function for every response: the state travels on the response.
  function logOnClose(this: TrackedResponse): void {
    const state = this[STATE];
    if (state !== undefined) logRequest(log, metrics, state, this.req, this, state.path, state.contentType);
  }

  /** A path the contract knows, answered here: an operation's pipeline, OPTIONS, a 405, or a 400. */
  function serve(
    req: IncomingMessage,
    res: ServerResponse,
    state: RequestState,
    pathname: string,
    rawQuery: string,
    match: Exclude<RouteMatch, { kind: 'not-found' }>,
  ): void {
    if (match.kind === 'operation') {
      const pipeline = pipelines.get(match.operation);
      if (pipeline === undefined) throw new Error(`No pipeline for ${match.operation.operationId}`);
      // Range is defined for GET only: a HEAD describes the whole representation (RFC 9110 §14.2).
      if (req.method === 'HEAD' && req.headers.range !== undefined) delete req.headers.range;
      void pipeline(new Exchange(req, res, state, match.operation, pathname, rawQuery, match.params, trust));
      return;
    }
    if (match.kind === 'options') {
      writer.reply(res, state, {
        status: 204,
        headers: { Allow: match.allow.join(', ') },
        mediaType: undefined,
      });
      return;
    }
    let error: ApiError;
    if (match.kind === 'method-not-allowed') {
      const allow = match.allow.join(', ');
      error = new ApiError(
        'method-not-allowed',
        `${req.method} is not allowed on ${pathname}; allowed: ${allow}.`,
        {
          headers: { Allow: allow },
        },
      );
    } else {
      error = new ApiError('malformed-path', 'The request path is not validly percent-encoded.');
    }
    writer.problem(res, state, toProblem(error, pathname, state.requestId, state.log));
  }

  /** A CORS preflight is answered by `cors` itself: the headers it does not set are set first. */
  function preflightHeaders(res: ServerResponse, state: RequestState, match: RouteMatch): void {
    if (match.kind === 'options') res.setHeader('Allow', match.allow.join(', '));
    const list = options.securityHeaders;
    for (let i = 0; i < list.length; i += 2) res.setHeader(list[i] ?? '', list[i + 1] ?? '');
    res.setHeader('X-Request-ID', state.requestId);
    res.setHeader('X-Process-Time', state.processTime());
    if (draining()) res.setHeader('Connection', 'close');
  }

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    const match = routes.match(req.method ?? 'GET', pathname);
    if (match.kind === 'not-found') {
      fallback(req, res);
      return;
    }
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    const state = new RequestState(log, requestIdFor(req));
    state.path = pathname;
    (res as TrackedResponse)[STATE] = state;
    res.on('close', logOnClose);
    if (cors === undefined) {
      serve(req, res, state, pathname, rawQuery, match);
      return;
    }
    const next = (): void => {
      serve(req, res, state, pathname, rawQuery, match);
    };
    if (req.method !== 'OPTIONS') {
      void cors(req as Request, res as Response, next);
    } else if (
      req.headers.origin !== undefined &&
      req.headers['access-control-request-method'] !== undefined
    ) {
      preflightHeaders(res, state, match);
      void cors(req as Request, res as Response, next);
    } else {
      // `cors` answers every OPTIONS as a preflight; a plain one gets the headers of an actual request.
      void cors({ method: 'GET', headers: req.headers } as Request, res as Response, next);
    }
  };
}
