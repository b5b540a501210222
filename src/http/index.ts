/**
 * The HTTP transport: the only code that knows node:http, Express and
 * openapi-backend. Builds, once at start-up, the route index, one compiled
 * pipeline per operation (pipeline.ts), the Express fallback for everything
 * the contract does not declare (fallback.ts), and the node:http request
 * listener that chooses between them (server.ts).
 */
import type { RequestListener } from 'node:http';
import type { Express } from 'express';
import type { Config } from '../config.js';
import type { Deps } from '../deps.js';
import { RouteIndex } from '../contract/routes.js';
import type { OperationSpec, Spec } from '../contract/spec.js';
import type { SecurityHandlers } from '../contract/types.js';
import type { Validation } from '../contract/validation.js';
import { createMultipartReader } from '../files/multipart.js';
import { startupGate } from '../startup-gate.js';
import { registerHandlers } from './backend.js';
import type { AnyHandler } from './backend.js';
import { deprecationsFor } from '../contract/deprecation.js';
import { createBodyParsers } from './body.js';
import { createFallbackApp } from './fallback.js';
import { corsPolicy, flatHeaders, securityHeaderEdits } from './middleware.js';
import { compilePipeline, handlerDeadlines } from './pipeline.js';
import type { Pipeline, PipelineHooks } from './pipeline.js';
import { ResponseWriter } from './response.js';
import { createRequestListener } from './server.js';

export type { AnyHandler } from './backend.js';
export type { Exchange } from './exchange.js';
export type { PipelineHooks, PipelineStage } from './pipeline.js';

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
  /** Stages added to every operation's pipeline (see pipeline.ts). */
  readonly hooks?: PipelineHooks;
  /** Non-contract Express routes (served by the fallback app, before its 404). */
  readonly expressRoutes?: (app: Express) => void;
  /** True once the server is shutting down (responses then close their connections). */
  readonly draining?: () => boolean;
  /** False while the database is opening and migrating: requests other than health and docs get 503. */
  readonly ready?: () => boolean;
}

export interface Http {
  /** The node:http request listener: `createServer(http.listener)`. */
  readonly listener: RequestListener;
  /** The Express app serving what the contract does not declare. */
  readonly fallback: Express;
}

/** Builds the HTTP transport for a contract and its handlers. */
export async function createHttp(options: HttpOptions): Promise<Http> {
  const { config, spec, deps } = options;
  const draining = options.draining ?? (() => false);
  const registry = await registerHandlers(spec, options.handlers, options.security);
  const headers = securityHeaderEdits();
  const writer = new ResponseWriter(headers.api, draining);
  const parts = {
    spec,
    validation: options.validation,
    deps,
    registry,
    security: options.security,
    bodies: createBodyParsers(
      config.bodyLimitBytes,
      createMultipartReader({ spec, storage: deps.files.storage, limits: config.files }),
      config.jsonShape,
    ),
    writer,
    gate: startupGate(options.ready ?? (() => true)),
    deprecations: deprecationsFor(spec, deps),
    responseValidation: config.responseValidation,
    deadlines: handlerDeadlines(config.handlerTimeoutMs, writer),
    hooks: options.hooks ?? {},
  };
  const pipelines = new Map<OperationSpec, Pipeline>();
  for (const operation of spec.operations) pipelines.set(operation, compilePipeline(operation, parts));

  const fallback = createFallbackApp({
    config,
    document: spec.document,
    deps,
    draining,
    securityHeaders: headers,
    ...(options.expressRoutes === undefined ? {} : { routes: options.expressRoutes }),
  });
  const listener = createRequestListener({
    routes: new RouteIndex(spec.operations),
    pipelines,
    fallback,
    writer,
    log: deps.log,
    metrics: deps.metrics,
    cors: corsPolicy(config.corsOrigins),
    trustProxyHops: config.trustProxyHops,
    draining,
    securityHeaders: flatHeaders(headers.api),
  });
  return { listener, fallback };
}
