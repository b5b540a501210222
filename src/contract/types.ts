/**
 * Handler types derived from the generated contract types. A handler for
 * operation `Id` receives `Input<Id>` and must return one of the responses the
 * contract declares for it, with the declared body shape: a missing operation,
 * an undeclared status or a wrong body is a compile error.
 */
import type { Readable } from 'node:stream';
import type { operations } from '../../generated/openapi.js';
import type { operationSecurity, securitySchemeName } from '../../generated/security.js';
import type { ApiError, ApiErrorOptions } from './errors.js';

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

/** A signed-in account: what a bearer token (header or `access_token` query) lets through. */
export interface UserPrincipal {
  readonly kind: 'user';
  readonly userId: number;
  readonly role: string;
  /** The account row the bearer check read for this request, so handlers need not read it again. */
  readonly user?: Account;
  /** When the bearer token expires (ms since the epoch): an open WebSocket is closed then. */
  readonly tokenExpiresAt?: number;
}

/** A configured API key: no account behind it. */
export interface ApiKeyPrincipal {
  readonly kind: 'apiKey';
  readonly userId?: undefined;
  /** A role for `x-roles`, when the key has one. */
  readonly role?: string;
  readonly user?: undefined;
  readonly tokenExpiresAt?: undefined;
}

/** The identity behind a request that passed the operation's security requirements. */
export type Principal = UserPrincipal | ApiKeyPrincipal;

/** What each security scheme of the contract lets through; `anonymous` is a request with no caller. */
interface SchemePrincipals {
  readonly OAuth2PasswordBearer: UserPrincipal;
  readonly AccessTokenQuery: UserPrincipal;
  readonly ApiKeyHeader: ApiKeyPrincipal;
  readonly ApiKeyQuery: ApiKeyPrincipal;
  readonly anonymous: undefined;
}
// A scheme added to the contract without an entry above is a compile error here.
type _EveryScheme = SchemePrincipals[securitySchemeName | 'anonymous'];

/**
 * The caller of operation `Id`, from its security requirements in the contract:
 * never undefined on an operation every alternative of which names a scheme.
 */
export type PrincipalOf<Id extends OperationId> = Id extends keyof operationSecurity
  ? SchemePrincipals[operationSecurity[Id]]
  : Principal | undefined;

type Responses<Id extends OperationId> = Op<Id>['responses'];
export type StatusOf<Id extends OperationId> = keyof Responses<Id> & number;

type ProblemOf<R> = R extends { content: { 'application/problem+json': infer P } } ? P : never;
type TypeOf<P> = P extends { type: `/problems/${infer Slug}` } ? Slug : never;

/** The statuses of `Id` whose answer is a problem document. */
export type ErrorStatusOf<Id extends OperationId> = {
  [S in StatusOf<Id>]: [ProblemOf<Responses<Id>[S]>] extends [never] ? never : S;
}[StatusOf<Id>];

/** The problem types `Id` declares for status `S`, by slug (`email-taken`). */
export type ProblemTypeOf<Id extends OperationId, S extends ErrorStatusOf<Id>> = TypeOf<
  ProblemOf<Responses<Id>[S]>
>;

/**
 * Makes the problem to throw for one of the error responses `Id` declares: a
 * status it does not declare, or a type that status does not list, does not
 * compile.
 * @example throw input.fail(409, 'email-taken', 'Email already registered');
 */
export type Fail<Id extends OperationId> = <S extends ErrorStatusOf<Id>>(
  status: S,
  type: ProblemTypeOf<Id, S>,
  detail: string,
  options?: ApiErrorOptions,
) => ApiError;

/** What a handler receives: parameters coerced to their schema types and a validated body. */
export interface Input<Id extends OperationId> {
  readonly operationId: Id;
  readonly path: Slot<Op<Id>['parameters']['path']>;
  readonly query: Slot<Op<Id>['parameters']['query']>;
  readonly header: Slot<Op<Id>['parameters']['header']>;
  readonly cookie: Slot<Op<Id>['parameters']['cookie']>;
  readonly body: BodyOf<Id>;
  /** The caller: always there on an operation whose security has no anonymous (`{}`) alternative. */
  readonly principal: PrincipalOf<Id>;
  readonly requestId: string;
  /** The client's address (honouring TRUST_PROXY_HOPS), e.g. for login throttling. */
  readonly clientIp: string;
  /** The problem for one of this operation's declared error responses; throw what it returns. */
  readonly fail: Fail<Id>;
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
