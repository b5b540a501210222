/**
 * The HTTP transport: the only code that knows Express. Requests that match
 * an operation of the contract go through the backend; the served contract and
 * docs come next; anything else is a 404 (or 405) problem.
 */
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import type { Config } from '../config.js';
import type { Deps } from '../deps.js';
import { ApiError } from '../contract/errors.js';
import { RouteIndex } from '../contract/routes.js';
import type { OperationSpec, Spec } from '../contract/spec.js';
import type { BinaryBody, SecurityHandlers } from '../contract/types.js';
import type { Validation } from '../contract/validation.js';
import { createMultipartReader } from '../files/multipart.js';
import { createBackend, isBinaryBody } from './backend.js';
import type { AnyHandler, Exchange, OutgoingReply } from './backend.js';
import { createBodyParsers, isJson } from './body.js';
import { docsRouter } from './docs.js';
import { metricsRoute } from './metrics.js';
import { startupGate } from '../startup-gate.js';
import { corsPolicy, requestContext, requestState, securityHeaders } from './middleware.js';
import { sendProblem, toProblem } from './problem.js';

export interface HttpOptions {
  readonly config: Pick<
    Config,
    | 'bodyLimitBytes'
    | 'jsonShape'
    | 'corsOrigins'
    | 'responseValidation'
    | 'trustProxyHops'
    | 'metricsAccess'
    | 'apiKeys'
    | 'handlerTimeoutMs'
    | 'files'
  >;
  readonly spec: Spec;
  readonly validation: Validation;
  readonly handlers: Readonly<Record<string, AnyHandler>>;
  readonly security: SecurityHandlers;
  readonly deps: Deps;
  /** True once the server is shutting down (responses then close their connections). */
  readonly draining?: () => boolean;
  /** False while the database is opening and migrating: requests other than health and docs get 503. */
  readonly ready?: () => boolean;
}

/**
 * Streams a byte body. An error before the first byte is still answered as a
 * problem (`fail`); after it, the connection is cut so the client sees a short body.
 */
function writeBinary(
  res: Response,
  reply: OutgoingReply,
  body: BinaryBody,
  fail: (error: unknown) => void,
): void {
  res.setHeader('Content-Type', reply.mediaType ?? 'application/octet-stream');
  if (!res.hasHeader('Content-Length')) res.setHeader('Content-Length', body.length);
  const source = body.open();
  source.on('error', (error: unknown) => {
    source.unpipe(res);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    for (const name of Object.keys(reply.headers ?? {})) res.removeHeader(name);
    res.removeHeader('Content-Type');
    fail(error);
  });
  // A client that goes away must not leave the source open.
  res.on('close', () => {
    source.destroy();
  });
  source.pipe(res);
}

function writeReply(res: Response, reply: OutgoingReply, fail: (error: unknown) => void): void {
  res.statusCode = reply.status;
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  if (reply.body === undefined) {
    res.end();
    return;
  }
  if (isBinaryBody(reply.body)) {
    writeBinary(res, reply, reply.body, fail);
    return;
  }
  const type = reply.mediaType ?? 'application/json';
  const payload = isJson(type) || typeof reply.body !== 'string' ? JSON.stringify(reply.body) : reply.body;
  res.setHeader('Content-Type', `${type}; charset=utf-8`);
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  res.end(payload);
}

/**
 * The handler's reply, or a 503 once `ms` have passed. A handler cannot be
 * cancelled: it goes on, its late reply is dropped and logged (its database
 * work is bounded by the statement timeout; an order it commits is found again
 * by its Idempotency-Key).
 */
function withinTimeout(
  handled: Promise<OutgoingReply>,
  ms: number,
  exchange: Exchange,
): Promise<OutgoingReply> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      handled.then(
        () => exchange.state.log.warn({ ms }, 'a handler finished after its timeout; its reply was dropped'),
        () => undefined,
      );
      reject(new ApiError(503, 'The server took too long to answer this request.'));
    }, ms);
    handled.then(
      (reply) => {
        clearTimeout(timer);
        resolve(reply);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Builds the Express application for a contract and its handlers. */
export async function createHttpApp(options: HttpOptions): Promise<Express> {
  const { config, spec, deps } = options;
  const index = new RouteIndex(spec.operations);
  const backend = await createBackend({
    ...options,
    responseValidation: config.responseValidation,
    bodies: createBodyParsers(
      config.bodyLimitBytes,
      createMultipartReader({ spec, storage: deps.files.storage, limits: config.files }),
      config.jsonShape,
    ),
  });

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.set('trust proxy', config.trustProxyHops);
  app.use(requestContext(deps.log, deps.metrics, options.draining ?? (() => false)));
  app.use(securityHeaders());
  const cors = corsPolicy(config.corsOrigins);
  if (cors !== undefined) app.use(cors);

  const exchangeFor = (req: Request, res: Response, match: Exchange['match']): Exchange => {
    const url = req.url;
    const q = url.indexOf('?');
    return {
      req,
      res,
      state: requestState(res),
      match,
      pathname: q < 0 ? url : url.slice(0, q),
      query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)),
    };
  };

  const fail = (req: Request, res: Response, error: unknown): void => {
    const state = requestState(res);
    sendProblem(res, toProblem(error, req.path, state.requestId, state.log));
  };

  const gate = startupGate(options.ready ?? (() => true));
  /** Uploads stream their body inside the handler, so their time depends on the client: no limit. */
  const timeoutFor = (operation: OperationSpec): number =>
    operation.requestBody?.content.has('multipart/form-data') === true ? 0 : config.handlerTimeoutMs;

  // Operations of the contract.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const q = req.url.indexOf('?');
    const match = index.match(req.method, q < 0 ? req.url : req.url.slice(0, q));
    if (match.kind === 'not-found') {
      next();
      return;
    }
    const exchange = exchangeFor(req, res, match);
    if (match.kind === 'operation') exchange.state.operationId = match.operation.operationId;
    void (async () => {
      if (match.kind === 'bad-path')
        throw new ApiError(400, 'The request path is not validly percent-encoded.');
      if (match.kind === 'operation') gate(match.operation.operationId);
      const handled = backend.handle(exchange);
      const limit = match.kind === 'operation' ? timeoutFor(match.operation) : 0;
      writeReply(res, limit > 0 ? await withinTimeout(handled, limit, exchange) : await handled, (error) => {
        fail(req, res, error);
      });
    })().catch((error: unknown) => {
      fail(req, res, error);
    });
  });

  // The served contract and its docs, and the metrics (outside the contract, like the docs).
  app.use(docsRouter(spec.document));
  if (config.metricsAccess !== 'off') app.get('/metrics', metricsRoute(deps.metrics, config));

  // Nothing matched: openapi-backend's notFound handler answers.
  app.use((req: Request, res: Response) => {
    backend.handle(exchangeFor(req, res, { kind: 'not-found' })).then(
      (reply) => {
        writeReply(res, reply, (error) => {
          fail(req, res, error);
        });
      },
      (error: unknown) => {
        fail(req, res, error);
      },
    );
  });

  // Errors from Express itself (e.g. a static file that cannot be read).
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    fail(req, res, error);
  });
  return app;
}
