/**
 * Cross-cutting HTTP concerns that run for every request, matched or not:
 * request id, timing header, one log line per request, security headers, CORS.
 */
import { randomUUID } from 'node:crypto';
import cors from 'cors';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import onHeaders from 'on-headers';
import type { Logger } from 'pino';
import { ApiError } from '../contract/errors.js';
import type { Metrics } from '../metrics.js';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Per-request state shared by the middleware and the dispatcher (kept on `res.locals.state`). */
export class RequestState {
  operationId: string | undefined = undefined;
  private child: Logger | undefined;

  constructor(
    private readonly root: Logger,
    readonly requestId: string,
  ) {}

  /** A logger that stamps the request id; made only when something logs (most requests never do). */
  get log(): Logger {
    this.child ??= this.root.child({ reqId: this.requestId });
    return this.child;
  }
}

export function requestState(res: Response): RequestState {
  return (res.locals as { state: RequestState }).state;
}

/**
 * Assigns the request id (the client's when it is sane), sets `X-Request-ID`
 * and `X-Process-Time` (seconds, as the guide's timing middleware does),
 * counts the request in the metrics and logs one line when the response is done.
 */
export function requestContext(log: Logger, metrics: Metrics, draining: () => boolean): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
    const state = new RequestState(log, requestId);
    (res.locals as { state: RequestState }).state = state;
    res.setHeader('X-Request-ID', requestId);
    onHeaders(res, function setProcessTime(this: Response) {
      this.setHeader('X-Process-Time', (Number(process.hrtime.bigint() - start) / 1e9).toFixed(6));
      // While shutting down, end keep-alive connections after this response: a
      // client that keeps its connection busy would otherwise hold the drain open.
      if (draining()) this.setHeader('Connection', 'close');
    });
    let logged = false;
    const done = (): void => {
      if (logged) return;
      logged = true;
      const path = req.originalUrl.split('?', 1)[0];
      const durationMs = Number(process.hrtime.bigint() - start) / 1e6;
      metrics.observeRequest(state.operationId, req.method, res.statusCode, durationMs / 1000);
      log.info(
        {
          reqId: requestId,
          method: req.method,
          path,
          operationId: state.operationId,
          status: res.statusCode,
          contentType: res.getHeader('content-type'),
          durationMs,
          aborted: !res.writableFinished,
        },
        'request',
      );
    };
    res.once('finish', done);
    res.once('close', done);
    next();
  };
}

/** CORS for the configured origins; nothing at all when none are configured. */
export function corsPolicy(origins: readonly string[]): RequestHandler | undefined {
  if (origins.length === 0) return undefined;
  return cors({
    origin: origins.includes('*') ? '*' : [...origins],
    exposedHeaders: ['X-Request-ID', 'X-Process-Time', 'Location', 'WWW-Authenticate', 'Retry-After'],
    maxAge: 600,
  });
}

/**
 * Security headers on every response (helmet's defaults: nosniff, frame and
 * referrer policies, HSTS, COOP/CORP, ...). API responses are data, never a
 * page, so their Content-Security-Policy forbids everything; the two docs pages
 * get a policy that allows their own scripts, styles and Redoc's blob worker.
 */
export function securityHeaders(): RequestHandler {
  const api = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
    xFrameOptions: { action: 'deny' },
  });
  const docs = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // Swagger UI and Redoc set inline styles; Redoc also draws with data: images and runs a blob: worker.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        workerSrc: ["'self'", 'blob:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    xFrameOptions: { action: 'deny' },
  });
  return (req, res, next) => {
    const docsPage = req.path === '/docs' || req.path.startsWith('/docs/') || req.path.startsWith('/redoc');
    (docsPage ? docs : api)(req, res, next);
  };
}

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
    throw new ApiError(503, 'The service is starting; try again shortly.', {
      headers: { 'Retry-After': '1' },
    });
  };
}
