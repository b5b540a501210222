/**
 * Handler types derived from the generated contract types. A handler for
 * operation `Id` receives `Input<Id>` and must return one of the responses the
 * contract declares for it, with the declared body shape: a missing operation,
 * an undeclared status or a wrong body is a compile error.
 */
import type { Readable } from 'node:stream';
import type { operations } from '../../generated/openapi.js';

/**
 * What the app binds these types to, filled in by declaration merging in
 * src/deps.ts: `deps`, what every handler and security check receives, and
 * `account`, the row a bearer check reads. The contract layer itself imports
 * nothing of the app (no deps, db or auth), which lint enforces.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by declaration merging
export interface AppBinding {}
type Bound<K extends string> = AppBinding extends { readonly [P in K]: infer T } ? T : never;
/** The app's `Deps`. */
export type HandlerDeps = Bound<'deps'>;
/** The app's account row (`UserRow`). */
export type Account = Bound<'account'>;

export type OperationId = keyof operations;
type Op<Id extends OperationId> = operations[Id];

/** Turns generated `query?: never` slots into an empty object type. */
type Slot<T> = [T] extends [undefined] ? Record<string, never> : NonNullable<T>;

/** One file part of a multipart body, already durably stored under a server-made key. */
export interface StoredPart {
  /** The form part it came in. */
  readonly field: string;
  readonly key: string;
  /** The client's filename, normalised (see files/filename.ts). */
  readonly filename: string;
  readonly declaredType: string;
  /** Sniffed from the first bytes; the declared type when they have no known signature. */
  readonly contentType: string;
  readonly size: number;
  readonly sha256: string;
}

/**
 * A `multipart/form-data` body as a handler sees it: validated text fields and
 * stored file parts. The parts are removed after the reply unless the handler
 * calls `keep()` once their metadata is committed.
 */
export interface UploadedForm<Form> {
  readonly fields: Readonly<Partial<Form>>;
  readonly files: readonly StoredPart[];
  keep(): void;
}

type BodyOf<Id extends OperationId> =
  NonNullable<Op<Id>['requestBody']> extends { content: infer C }
    ? 'multipart/form-data' extends keyof C
      ? UploadedForm<C['multipart/form-data']>
      : C[keyof C]
    : undefined;

/** A response body that is bytes, not JSON: streamed, with a known length. */
export interface BinaryBody {
  readonly binary: true;
  readonly length: number;
  /** Opened only when the reply is written, so a reply that is never sent leaks nothing. */
  open(): Readable;
}

/** The identity behind a request that passed the operation's security requirements. */
export interface Principal {
  readonly kind: 'apiKey' | 'user';
  /** The user's id for bearer tokens; undefined for API keys. */
  readonly userId?: number;
  readonly role?: string;
  /** The account row the bearer check read for this request, so handlers need not read it again. */
  readonly user?: Account;
  /** When the bearer token expires (ms since the epoch): an open WebSocket is closed then. */
  readonly tokenExpiresAt?: number;
}

/** What a handler receives: parameters coerced to their schema types and a validated body. */
export interface Input<Id extends OperationId> {
  readonly operationId: Id;
  readonly path: Slot<Op<Id>['parameters']['path']>;
  readonly query: Slot<Op<Id>['parameters']['query']>;
  readonly header: Slot<Op<Id>['parameters']['header']>;
  readonly cookie: Slot<Op<Id>['parameters']['cookie']>;
  readonly body: BodyOf<Id>;
  /** The caller, when the operation declares security; undefined on public operations. */
  readonly principal: Principal | undefined;
  readonly requestId: string;
  /** The client's address (honouring TRUST_PROXY_HOPS), e.g. for login throttling. */
  readonly clientIp: string;
}

/** Headers set by the HTTP layer (request id, timing, rate limits); handlers never set them. */
type LayerHeader = 'X-Request-ID' | 'X-Process-Time' | 'RateLimit' | 'RateLimit-Policy';
type KnownKeys<T> = { [K in keyof T as string extends K ? never : number extends K ? never : K]: T[K] };
type DeclaredHeaders<R> = R extends { headers: infer H }
  ? Omit<KnownKeys<H>, LayerHeader>
  : Record<string, never>;
/** Header values as strings, keeping each header's optionality (homomorphic over D). */
type HeaderValues<D> = { readonly [K in keyof D]: string };
type RequiredKeys<D> = { [K in keyof D]-?: undefined extends D[K] ? never : K }[keyof D];
type HeaderPart<R> = keyof DeclaredHeaders<R> extends never
  ? { readonly headers?: Readonly<Record<string, string>> }
  : [RequiredKeys<DeclaredHeaders<R>>] extends [never]
    ? { readonly headers?: HeaderValues<DeclaredHeaders<R>> & Readonly<Record<string, string>> }
    : { readonly headers: HeaderValues<DeclaredHeaders<R>> & Readonly<Record<string, string>> };

/** JSON media types carry their schema's value; any other media type (or range) is a byte stream. */
type BodyPart<R> = R extends { content: infer C }
  ? [Exclude<keyof C & string, `${string}json`>] extends [never]
    ? { readonly body: C[keyof C]; readonly contentType?: keyof C & string }
    : { readonly body: BinaryBody; readonly contentType: string }
  : { readonly body?: undefined };

type Responses<Id extends OperationId> = Op<Id>['responses'];
export type StatusOf<Id extends OperationId> = keyof Responses<Id> & number;

/** One of the responses the contract declares for `Id`. */
export type Reply<Id extends OperationId> = {
  [S in StatusOf<Id>]: { readonly status: S } & BodyPart<Responses<Id>[S]> & HeaderPart<Responses<Id>[S]>;
}[StatusOf<Id>];

export type Handler<Id extends OperationId> = (input: Input<Id>, deps: HandlerDeps) => Promise<Reply<Id>>;

/** One handler per operation in the contract; `src/handlers/index.ts` exports the only instance. */
export type HandlerMap = { readonly [Id in OperationId]: Handler<Id> };

/** The parts of a request a security scheme may read. */
export interface SecurityRequest {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly query: URLSearchParams;
}

/**
 * Checks one security scheme of the contract. Returns the caller, or throws
 * `ApiError` 401 (no or unusable credentials) or 403 (credentials refused).
 */
export type SecurityHandler = (request: SecurityRequest, deps: HandlerDeps) => Promise<Principal> | Principal;

/** One handler per security scheme the contract uses; a scheme without one never passes. */
export type SecurityHandlers = Readonly<Record<string, SecurityHandler>>;
