/**
 * Express middleware for the requests the contract does not declare (docs,
 * metrics, static files, 404s): request id, timing header, one log line per
 * request, security headers, CORS. The contract pipeline does the same
 * without Express (pipeline.ts, response.ts), from the same pieces.
 */
import cors from 'cors';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import onHeaders from 'on-headers';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { logRequest, RequestState, requestIdFor } from './request-state.js';

/** The request's state, kept on `res.locals.state` by requestContext. */
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
    const state = new RequestState(log, requestIdFor(req));
    (res.locals as { state: RequestState }).state = state;
    res.setHeader('X-Request-ID', state.requestId);
    onHeaders(res, function setProcessTime(this: Response) {
      this.setHeader('X-Process-Time', state.processTime());
      // While shutting down, end keep-alive connections after this response: a
      // client that keeps its connection busy would otherwise hold the drain open.
      if (draining()) this.setHeader('Connection', 'close');
    });
    // 'close' comes once per response, after 'finish' or when the connection
    // was cut first (then the line says aborted): one listener is enough.
    res.once('close', () => {
      logRequest(
        log,
        metrics,
        state,
        req,
        res,
        req.originalUrl.split('?', 1)[0],
        res.getHeader('content-type'),
      );
    });
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

/** What a header middleware did to a response: headers set, and headers removed. */
export interface HeaderEdits {
  readonly set: readonly (readonly [string, string | readonly string[]])[];
  readonly remove: readonly string[];
}

/** The headers an edit sets, as the flat [name, value, ...] list `writeHead` takes. */
export function flatHeaders(edits: HeaderEdits): string[] {
  const flat: string[] = [];
  for (const [name, value] of edits.set) {
    for (const one of typeof value === 'string' ? [value] : value) flat.push(name, one);
  }
  return flat;
}

/**
 * Runs a middleware whose headers depend on nothing in the request (helmet
 * with static directives) once, against a recording stand-in for a response,
 * and returns what it did. Replaying those edits costs a few setHeader calls
 * instead of helmet's chain of a dozen middleware on every request. Throws if
 * the middleware did anything else (read the request, failed, or did not call
 * next at once), so a future option that needs the request is caught at start-up.
 */
function recordHeaderEdits(middleware: RequestHandler): HeaderEdits {
  const set: [string, string | readonly string[]][] = [];
  const remove: string[] = [];
  const res = {
    setHeader(name: string, value: string | readonly string[]) {
      set.push([name, value]);
      return res;
    },
    removeHeader(name: string) {
      remove.push(name);
    },
  };
  const req = new Proxy(
    {},
    {
      get(_target, property) {
        throw new Error(`the security headers read the request (${String(property)}): they cannot be cached`);
      },
    },
  );
  let calledNext = false;
  void middleware(req as Request, res as unknown as Response, (error?: unknown) => {
    if (error !== undefined)
      throw error instanceof Error ? error : new Error('the security headers middleware failed');
    calledNext = true;
  });
  if (!calledNext) throw new Error('the security headers middleware did not finish at once');
  return { set, remove };
}

function replay(edits: HeaderEdits, res: Response): void {
  for (const [name, value] of edits.set) res.setHeader(name, value);
  for (const name of edits.remove) res.removeHeader(name);
}

/**
 * Security headers on every response (helmet's defaults: nosniff, frame and
 * referrer policies, HSTS, COOP/CORP, ...). API responses are data, never a
 * page, so their Content-Security-Policy forbids everything; the two docs pages
 * get a policy that allows their own scripts, styles and Redoc's blob worker.
 * Helmet computes the headers once; each request replays them (the contract
 * pipeline writes the API's with the rest of its precomputed headers).
 */
export function securityHeaderEdits(): { readonly api: HeaderEdits; readonly docs: HeaderEdits } {
  // API answers are JSON, problems and bytes, never a page: they get the headers
  // OWASP's REST cheat sheet lists (CSP, HSTS, nosniff, frame denial) plus the
  // referrer, cross-origin-resource and cross-domain policies. Helmet's headers
  // that only mean something for an HTML document (COOP, Origin-Agent-Cluster,
  // DNS prefetch, IE8's X-Download-Options, the retired X-XSS-Protection) are
  // left to the docs pages: every header costs every request.
  const api = recordHeaderEdits(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      },
      xFrameOptions: { action: 'deny' },
      crossOriginOpenerPolicy: false,
      originAgentCluster: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xXssProtection: false,
    }),
  );
  const docs = recordHeaderEdits(
    helmet({
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
    }),
  );
  return { api, docs };
}

/** Replays the recorded security headers in Express: the docs pages get theirs, the rest the API's. */
export function securityHeaders(edits: {
  readonly api: HeaderEdits;
  readonly docs: HeaderEdits;
}): RequestHandler {
  const { api, docs } = edits;
  return (req, res, next) => {
    const url = req.url;
    const docsPage =
      url === '/docs' || url.startsWith('/docs/') || url.startsWith('/docs?') || url.startsWith('/redoc');
    replay(docsPage ? docs : api, res);
    next();
  };
}
