/**
 * The Express app for every request the contract does not declare: the
 * served contract and its docs, `/metrics`, static assets, any non-contract
 * route a team mounts, and the 404 problem for everything else. It keeps its
 * own request id, timing header, log line, security headers and CORS
 * (middleware.ts), so these answers look like the contract's.
 */
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import type { Config } from '../config.js';
import { ApiError } from '../contract/errors.js';
import type { OpenApiDocument } from '../contract/spec.js';
import type { Deps } from '../deps.js';
import { docsRouter } from './docs.js';
import { metricsRoute } from './metrics.js';
import { corsPolicy, requestContext, requestState, securityHeaders } from './middleware.js';
import type { HeaderEdits } from './middleware.js';
import { sendProblem, toProblem } from './problem.js';

export interface FallbackOptions {
  readonly config: Pick<Config, 'corsOrigins' | 'trustProxyHops' | 'metricsAccess' | 'apiKeys'>;
  readonly document: OpenApiDocument;
  readonly deps: Deps;
  readonly draining: () => boolean;
  readonly securityHeaders: { readonly api: HeaderEdits; readonly docs: HeaderEdits };
  /** Non-contract routes, mounted after the docs and metrics and before the 404. */
  readonly routes?: (app: Express) => void;
}

export function createFallbackApp(options: FallbackOptions): Express {
  const { config, deps } = options;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.set('trust proxy', config.trustProxyHops);
  app.use(requestContext(deps.log, deps.metrics, options.draining));
  app.use(securityHeaders(options.securityHeaders));
  const cors = corsPolicy(config.corsOrigins);
  if (cors !== undefined) app.use(cors);

  const fail = (req: Request, res: Response, error: unknown): void => {
    const state = requestState(res);
    sendProblem(res, toProblem(error, req.path, state.requestId, state.log));
  };

  // The served contract and its docs, and the metrics (outside the contract, like the docs).
  app.use(docsRouter(options.document));
  if (config.metricsAccess !== 'off') app.get('/metrics', metricsRoute(deps.metrics, config));
  options.routes?.(app);

  // Nothing matched.
  app.use((req: Request, res: Response) => {
    const pathname = req.url.split('?', 1)[0] ?? req.url;
    fail(req, res, new ApiError('route-not-found', `No operation matches ${req.method} ${pathname}.`));
  });

  // Errors from Express itself (e.g. a static file that cannot be read).
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    fail(req, res, error);
  });
  return app;
}
