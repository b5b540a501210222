/**
 * What every request carries, whichever way it is served (contract pipeline
 * or Express fallback): its id, its start time, the operation it matched, and
 * the one log line and metric written when its response closes.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { writeRequestLine } from '../log.js';
import type { Metrics } from '../metrics.js';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's request id when it is sane, a fresh one otherwise. */
export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** Per-request state shared by the stages that serve it. */
export class RequestState {
  operationId: string | undefined = undefined;
  /** The Content-Type the pipeline wrote (the fallback reads it from the response). */
  contentType: string | undefined = undefined;
  /** The request path without its query string, as the log line shows it. */
  path: string | undefined = undefined;
  readonly start = process.hrtime.bigint();
  /** Headers stages add for this answer (rate limit, deprecation), as a flat [name, value, ...] list. */
  headers: string[] | undefined = undefined;
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

  /**
   * Adds a header to whatever answer this request gets, problems included. Kept
   * here rather than on the response so the answer is still one `writeHead`
   * with a flat list (a header set on the response first makes Node re-set
   * every header one by one).
   */
  setHeader(name: string, value: string): void {
    (this.headers ??= []).push(name, value);
  }

  /** Seconds since the request arrived, as `X-Process-Time` shows them. */
  processTime(): string {
    return (Number(process.hrtime.bigint() - this.start) / 1e9).toFixed(6);
  }
}

/**
 * The one log line and the request metric, written once the response is done
 * (or cut: then `aborted` is true).
 */
export function logRequest(
  log: Logger,
  metrics: Metrics,
  state: RequestState,
  req: IncomingMessage,
  res: ServerResponse,
  path: string | undefined,
  contentType: unknown,
): void {
  const durationMs = Number(process.hrtime.bigint() - state.start) / 1e6;
  metrics.observeRequest(state.operationId, req.method ?? 'GET', res.statusCode, durationMs / 1000);
  writeRequestLine(log, {
    reqId: state.requestId,
    method: req.method,
    path,
    operationId: state.operationId,
    status: res.statusCode,
    contentType,
    durationMs,
    aborted: !res.writableFinished,
  });
}
