/**
 * One contract request on its way through its operation's pipeline: the Node
 * request and response, what routing found, and what the stages add (the
 * caller, the release of an uploaded body). It is also the request the
 * security schemes read (`headers`, `query`), so nothing is copied for them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import type { OperationSpec } from '../contract/spec.js';
import type { Principal, SecurityRequest } from '../contract/types.js';
import type { RequestState } from './request-state.js';

/**
 * Express's `trust proxy` with a hop count: the address `hops` proxies back
 * along X-Forwarded-For. Undefined for 0: no proxy is trusted, and the
 * address is the socket's without reading the header at all.
 */
export function trustHops(hops: number): ((address: string, index: number) => boolean) | undefined {
  if (hops === 0) return undefined;
  return (_address, index) => index < hops;
}

export class Exchange implements SecurityRequest {
  principal: Principal | undefined = undefined;
  /** Undoes what reading the body stored (uploaded files) unless the handler kept it. */
  release: (() => Promise<void>) | undefined = undefined;
  /** Set when the handler timeout answered 503: the handler's late reply is dropped. */
  timedOut = false;
  private parsedQuery: URLSearchParams | undefined = undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly state: RequestState,
    readonly operation: OperationSpec,
    /** The request path without its query string, still percent-encoded. */
    readonly pathname: string,
    /** The query string without its `?` ('' when there is none). */
    readonly rawQuery: string,
    readonly params: Readonly<Record<string, string>>,
    private readonly trust: ((address: string, index: number) => boolean) | undefined,
  ) {}

  get headers(): IncomingMessage['headers'] {
    return this.req.headers;
  }

  /** Parsed on first use: operations without query parameters or query-token security never parse it. */
  get query(): URLSearchParams {
    this.parsedQuery ??= new URLSearchParams(this.rawQuery);
    return this.parsedQuery;
  }

  /** The client's address, honouring TRUST_PROXY_HOPS exactly as Express's `req.ip` does. */
  clientIp(): string {
    const socketAddress = this.req.socket.remoteAddress ?? 'unknown';
    if (this.trust === undefined) return socketAddress;
    return proxyaddr(this.req, this.trust) || socketAddress;
  }
}
