/**
 * Writing the contract pipeline's responses on node:http. The headers every
 * API response carries (helmet's recorded security headers) are computed once;
 * a JSON reply or a problem is then one `writeHead` with a flat header list
 * and one `end`. A HEAD request gets the same status and headers (Content-Length
 * included) and no body: node:http drops the body of a HEAD response, and a
 * byte stream is not even opened.
 */
import type { ServerResponse } from 'node:http';
import type { BinaryBody } from '../contract/types.js';
import { isJson } from './body.js';
import { flatHeaders } from './middleware.js';
import type { HeaderEdits } from './middleware.js';
import { PROBLEM_JSON } from './problem.js';
import type { Problem } from './problem.js';
import type { RequestState } from './request-state.js';
import type { ReplyLike } from './reply-check.js';

/** A reply on its way out, with the media type it will be written as. */
export interface OutgoingReply extends ReplyLike {
  readonly mediaType: string | undefined;
}

/** Whether a reply body is a byte stream rather than a JSON value. */
export function isBinaryBody(value: unknown): value is BinaryBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { binary?: unknown }).binary === true &&
    typeof (value as { open?: unknown }).open === 'function'
  );
}

/** Headers the writer sets itself; a reply's own value for them is replaced. */
const BODY_HEADERS = new Set(['content-type', 'content-length']);

/** Lower-cased header names, kept for the few names handlers use (ETag, Location, Link, ...). */
const lowerNames = new Map<string, string>();

function lowerName(name: string): string {
  let lower = lowerNames.get(name);
  if (lower === undefined) {
    lower = name.toLowerCase();
    if (lowerNames.size < 256) lowerNames.set(name, lower);
  }
  return lower;
}

export class ResponseWriter {
  /** The security headers as a flat [name, value, ...] list. */
  private readonly constant: readonly string[];
  private readonly constantNames: ReadonlySet<string>;
  private readonly contentTypes = new Map<string, string>();

  constructor(
    security: HeaderEdits,
    private readonly draining: () => boolean,
  ) {
    // `security.remove` names headers Express sets (X-Powered-By); node:http sets none of them.
    this.constant = flatHeaders(security);
    this.constantNames = new Set(security.set.map(([name]) => name.toLowerCase()));
  }

  /** `type; charset=utf-8`, built once per media type. */
  private contentType(type: string): string {
    let value = this.contentTypes.get(type);
    if (value === undefined) {
      value = `${type}; charset=utf-8`;
      this.contentTypes.set(type, value);
    }
    return value;
  }

  /** The full header list of a response with a body written at once. */
  private headerList(
    state: RequestState,
    own: Readonly<Record<string, string>> | undefined,
    contentType: string | undefined,
    length: number | undefined,
  ): string[] {
    const list = this.constant.slice();
    if (own !== undefined) {
      for (const name in own) {
        const lower = lowerName(name);
        if (BODY_HEADERS.has(lower) && contentType !== undefined) continue;
        if (this.constantNames.has(lower)) removeFrom(list, lower);
        list.push(name, own[name] ?? '');
      }
    }
    if (state.headers !== undefined) for (const item of state.headers) list.push(item);
    list.push('X-Request-ID', state.requestId, 'X-Process-Time', state.processTime());
    // While shutting down, end keep-alive connections after this response: a
    // client that keeps its connection busy would otherwise hold the drain open.
    if (this.draining()) list.push('Connection', 'close');
    if (contentType !== undefined) list.push('Content-Type', contentType);
    if (length !== undefined) list.push('Content-Length', String(length));
    return list;
  }

  /** A JSON (or text) reply, or one without a body. */
  reply(res: ServerResponse, state: RequestState, reply: OutgoingReply): void {
    if (reply.body === undefined) {
      res.writeHead(reply.status, this.headerList(state, reply.headers, undefined, undefined));
      res.end();
      return;
    }
    const type = reply.mediaType ?? 'application/json';
    const payload = isJson(type) || typeof reply.body !== 'string' ? JSON.stringify(reply.body) : reply.body;
    const contentType = this.contentType(type);
    state.contentType = contentType;
    res.writeHead(
      reply.status,
      this.headerList(state, reply.headers, contentType, Buffer.byteLength(payload)),
    );
    res.end(payload);
  }

  /** A problem document, unless the response has already started (then the connection is cut). */
  problem(res: ServerResponse, state: RequestState, problem: Problem): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const payload = JSON.stringify(problem.body);
    const contentType = this.contentType(PROBLEM_JSON);
    state.contentType = contentType;
    res.writeHead(
      problem.status,
      this.headerList(state, problem.headers, contentType, Buffer.byteLength(payload)),
    );
    res.end(payload);
  }

  /**
   * Streams a byte body. Its headers are set, not written: they leave with the
   * first byte, so an error before it is still answered as a problem (`fail`);
   * after it, the connection is cut so the client sees a short body.
   */
  binary(
    res: ServerResponse,
    state: RequestState,
    reply: OutgoingReply,
    body: BinaryBody,
    fail: (error: unknown) => void,
  ): void {
    res.statusCode = reply.status;
    for (let i = 0; i < this.constant.length; i += 2) {
      res.setHeader(this.constant[i] ?? '', this.constant[i + 1] ?? '');
    }
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    const added = state.headers ?? [];
    for (let i = 0; i < added.length; i += 2) res.setHeader(added[i] ?? '', added[i + 1] ?? '');
    res.setHeader('X-Request-ID', state.requestId);
    res.setHeader('X-Process-Time', state.processTime());
    if (this.draining()) res.setHeader('Connection', 'close');
    const contentType = reply.mediaType ?? 'application/octet-stream';
    state.contentType = contentType;
    res.setHeader('Content-Type', contentType);
    if (!res.hasHeader('Content-Length')) res.setHeader('Content-Length', body.length);
    // HEAD: the headers describe the bytes, which are never opened.
    if (res.req.method === 'HEAD') {
      res.end();
      return;
    }
    const source = body.open();
    source.on('error', (error: unknown) => {
      source.unpipe(res);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      for (const name of res.getHeaderNames()) res.removeHeader(name);
      fail(error);
    });
    // A client that goes away must not leave the source open.
    res.on('close', () => {
      source.destroy();
    });
    source.pipe(res);
  }
}

/** Removes a header (case-insensitively) from a flat [name, value, ...] list. */
function removeFrom(list: string[], lower: string): void {
  for (let i = list.length - 2; i >= 0; i -= 2) {
    if (list[i]?.toLowerCase() === lower) list.splice(i, 2);
  }
}
