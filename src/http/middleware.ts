/**
 * Cross-cutting HTTP concerns that run for every request, matched or not:
 * request id, timing header, one log line per request, CORS.
 */
import { randomUUID } from 'node:crypto';
import cors from 'cors';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import onHeaders from 'on-headers';
import type { Logger } from 'pino';

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
 * and `X-Process-Time` (seconds, as the guide's timing middleware does) and
 * logs one line when the response is done.
 */
export function requestContext(log: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
    const state = new RequestState(log, requestId);
    (res.locals as { state: RequestState }).state = state;
    res.setHeader('X-Request-ID', requestId);
    onHeaders(res, function setProcessTime(this: Response) {
      this.setHeader('X-Process-Time', (Number(process.hrtime.bigint() - start) / 1e9).toFixed(6));
    });
    let logged = false;
    const done = (): void => {
      if (logged) return;
      logged = true;
      const path = req.originalUrl.split('?', 1)[0];
      log.info(
        {
          reqId: requestId,
          method: req.method,
          path,
          operationId: state.operationId,
          status: res.statusCode,
          contentType: res.getHeader('content-type'),
          durationMs: Number(process.hrtime.bigint() - start) / 1e6,
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
