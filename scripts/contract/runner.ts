/**
 * The spec-driven conformance run against a server the runner did not start:
 * for every operation, valid cases (examples, then fast-check cases from the
 * schemas, seeded), invalid variants, credential checks, undeclared methods,
 * and the stateful rules (a `Location` can be fetched, a deleted resource is
 * 404, OpenAPI `links` from a created resource work).
 *
 * The server may hold real data, so the run changes nothing it did not create:
 * a request that may change state (any method but GET/HEAD/OPTIONS) names in
 * its path only ids the runner got from its own `201`s, or an id that cannot
 * exist; logins fail on purpose only on the runner's own account, twice a run.
 */
import fc from 'fast-check';
import type { OperationSpec, ParameterSpec } from '../../src/contract/spec.js';
import { allowedMethods } from '../../src/contract/routes.js';
import type { Contract } from './document.js';
import { isObject, isUpgrade } from './document.js';
import { arbitraryFor, minimalValue } from './arbitraries.js';
import type { Pools } from './arbitraries.js';
import { actorFor, setUpActors, tokenOperation } from './actors.js';
import type { Actor, Actors } from './actors.js';
import { checkDeclared, checkExpectation } from './checks.js';
import type { Expectation } from './checks.js';
import { fillPath, isJsonType, mediaTypeOf, send, toCurl, toWire } from './http.js';
import type { Input, WireRequest, WireResponse } from './http.js';
import { negativesFor } from './negatives.js';

export interface RunOptions {
  readonly baseUrl: string;
  readonly contract: Contract;
  /** Valid cases per operation, examples included. */
  readonly cases: number;
  readonly seed: number;
  readonly token?: string | undefined;
  readonly login?: { readonly email: string; readonly password: string } | undefined;
  /** A key for `apiKey` security schemes; without it those operations are checked for 401/403 only. */
  readonly apiKey?: string | undefined;
  /** The server's body limit, when known: adds an over-limit body (413) to every operation with a body. */
  readonly bodyLimit?: number | undefined;
  /** Only these operations (all by default). */
  readonly only?: readonly string[] | undefined;
  /** Valid cases sent at once (default 4). */
  readonly concurrency?: number | undefined;
  readonly log?: (line: string) => void;
}

export interface FailureReport {
  readonly operation: string;
  readonly case: string;
  readonly status: number;
  readonly problems: readonly string[];
  readonly curl: string;
}

export interface OperationReport {
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  cases: number;
  failures: number;
  /** How many answers of each status the cases got. */
  readonly statuses: Record<string, number>;
  /** Wall time spent on the operation's cases. */
  ms: number;
  skipped?: string;
  firstFailure?: FailureReport;
}

export interface RunReport {
  readonly baseUrl: string;
  readonly seed: number;
  readonly casesPerOperation: number;
  readonly startedAt: string;
  durationMs: number;
  readonly notes: string[];
  readonly operations: OperationReport[];
  readonly failures: FailureReport[];
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'];
const SAFE = new Set(['get', 'head', 'options']);
/** Path values for "a resource that does not exist": no server hands out 2^53-1 as an id. */
const NONEXISTENT = [Number.MAX_SAFE_INTEGER, 'qa-contract-nonexistent'];
/** Logins the run fails on purpose, on its own account: far below any sane per-address lock. */
const FAILED_LOGINS = 2;

/** A stable 32-bit hash, so each operation gets its own reproducible stream from one seed. */
function hash(text: string): number {
  let h = 2166136261;
  for (const char of text) h = Math.imul(h ^ char.charCodeAt(0), 16777619);
  return h >>> 0;
}

/** Creates before reads before changes before deletes, so pools fill up before they are used or emptied. */
function phase(operation: OperationSpec): number {
  if (operation.method === 'post' && !operation.path.includes('{')) return 0;
  if (SAFE.has(operation.method)) return 1;
  if (operation.method === 'delete') return 3;
  return 2;
}

function pathRegex(template: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const source = template
    .split(/(\{[^{}]+\})/)
    .map((part) => {
      const m = /^\{([^{}]+)\}$/.exec(part);
      if (m === null) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
      names.push(m[1] ?? '');
      return '([^/]+)';
    })
    .join('');
  return { regex: new RegExp(`^${source}/?$`), names };
}

/** A JSON Pointer (without '#') into a value. */
function pointerInto(value: unknown, pointer: string): unknown {
  if (pointer === '' || pointer === '/') return value;
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>(
      (node, token) =>
        isObject(node) || Array.isArray(node) ? (node as Record<string, unknown>)[token] : undefined,
      value,
    );
}

function parseJson(res: WireResponse): unknown {
  try {
    return isJsonType(mediaTypeOf(res.headers.get('content-type')) ?? '')
      ? JSON.parse(res.body.toString('utf8'))
      : undefined;
  } catch {
    return undefined;
  }
}

class Run {
  readonly report: RunReport;
  private readonly pools = new Map<string, unknown[]>();
  /** Pool values that must never be changed or deleted: the runner's own accounts. */
  private readonly protectedValues = new Map<string, unknown[]>();
  private actors: Actors = { admin: undefined, user: undefined, notes: [] };
  private readonly byPath = new Map<string, OperationSpec[]>();
  private readonly matchers: { operation: OperationSpec; regex: RegExp; names: string[] }[];

  constructor(private readonly options: RunOptions) {
    this.report = {
      baseUrl: options.baseUrl,
      seed: options.seed,
      casesPerOperation: options.cases,
      startedAt: new Date().toISOString(),
      durationMs: 0,
      notes: [],
      operations: [],
      failures: [],
    };
    for (const operation of options.contract.spec.operations) {
      const list = this.byPath.get(operation.path) ?? [];
      list.push(operation);
      this.byPath.set(operation.path, list);
    }
    this.matchers = options.contract.spec.operations
      .filter((op) => op.method === 'get')
      .map((operation) => ({ operation, ...pathRegex(operation.path) }));
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  async run(): Promise<RunReport> {
    const started = performance.now();
    const { contract } = this.options;
    this.actors = await setUpActors({
      baseUrl: this.options.baseUrl,
      contract,
      token: this.options.token,
      login: this.options.login,
      seed: this.options.seed,
    });
    this.report.notes.push(...this.actors.notes);
    for (const actor of [this.actors.admin, this.actors.user]) {
      if (actor?.id !== undefined) this.protect('user_id', actor.id);
    }
    // The user's own credentials, so that a login case can succeed (OAuth2 password grant fields).
    const user = this.actors.user;
    if (user?.email !== undefined && user.password !== undefined) {
      this.pools.set('username', [user.email]);
      this.pools.set('password', [user.password]);
    }
    const selected = contract.spec.operations.filter(
      (op) => this.options.only === undefined || this.options.only.includes(op.operationId),
    );
    const ordered = [...selected].sort((a, b) => phase(a) - phase(b));
    for (const operation of ordered) await this.runOperation(operation);
    for (const [path, operations] of this.byPath) {
      if (operations.some((op) => selected.includes(op))) await this.runMethods(path, operations);
    }
    const order = new Map(contract.spec.operations.map((op, i) => [op.operationId, i] as const));
    const rank = (name: string): number => order.get(name) ?? Number.MAX_SAFE_INTEGER;
    this.report.operations.sort((a, b) => rank(a.operation) - rank(b.operation));
    this.report.durationMs = Math.round(performance.now() - started);
    return this.report;
  }

  private protect(name: string, value: unknown): void {
    const list = this.protectedValues.get(name) ?? [];
    list.push(value);
    this.protectedValues.set(name, list);
  }

  /** Pools as an operation may use them: one that changes or deletes never gets a protected value. */
  private poolsFor(operation: OperationSpec): Pools {
    if (SAFE.has(operation.method)) return this.pools;
    const filtered = new Map<string, unknown[]>();
    for (const [name, values] of this.pools) {
      const banned = this.protectedValues.get(name) ?? [];
      filtered.set(
        name,
        values.filter((v) => !banned.includes(v)),
      );
    }
    return filtered;
  }

  /** Values of a path parameter the runner created in this run (and may change or delete). */
  private owned(name: string): unknown[] {
    const banned = this.protectedValues.get(name) ?? [];
    return (this.pools.get(name) ?? []).filter((value) => !banned.includes(value));
  }

  /** A valid value for the parameter that names no resource; undefined when the schema allows none. */
  private nonexistent(parameter: ParameterSpec): unknown {
    const validate = this.options.contract.compile(this.options.contract.deref(parameter.schema));
    return NONEXISTENT.find((value) => validate(value));
  }

  /**
   * The input as it may be sent: unchanged for a safe method; otherwise every
   * path value the runner did not create becomes one that cannot exist (or the
   * case is dropped, undefined, when there is none), so a change or a delete
   * only ever reaches the runner's own resources.
   */
  private confined(operation: OperationSpec, input: Input): Input | undefined {
    if (SAFE.has(operation.method)) return input;
    const path = { ...input.path };
    for (const parameter of operation.parameters.filter((p) => p.in === 'path')) {
      const value = path[parameter.name];
      if (value === undefined || this.owned(parameter.name).includes(value)) continue;
      const replacement = this.nonexistent(parameter);
      if (replacement === undefined) return undefined;
      path[parameter.name] = replacement;
    }
    return { ...input, path };
  }

  /** Remembers the ids a `Location` names, by the parameter names of the GET operation it matches. */
  private learnLocation(location: string): { operation: OperationSpec; path: string } | undefined {
    const path = new URL(location, this.options.baseUrl).pathname;
    for (const { operation, regex, names } of this.matchers) {
      const m = regex.exec(path);
      if (m === null) continue;
      names.forEach((name, i) => {
        const raw = decodeURIComponent(m[i + 1] ?? '');
        const value = /^\d+$/.test(raw) ? Number(raw) : raw;
        const list = this.pools.get(name) ?? [];
        if (!list.includes(value)) list.push(value);
        this.pools.set(name, list);
      });
      return { operation, path };
    }
    return undefined;
  }

  /** The report row of an operation, made on first use (link steps count for the operation they call). */
  private entry(operation: OperationSpec): OperationReport {
    const existing = this.report.operations.find((r) => r.operation === operation.operationId);
    if (existing !== undefined) return existing;
    const report: OperationReport = {
      operation: operation.operationId,
      method: operation.method.toUpperCase(),
      path: operation.path,
      cases: 0,
      failures: 0,
      ms: 0,
      statuses: {},
    };
    this.report.operations.push(report);
    return report;
  }

  /** Credentials for an operation's security as headers and query parameters; undefined when none can be met. */
  private credentials(
    operation: OperationSpec,
    actor: Actor | undefined,
    token?: string,
  ): { headers: Record<string, string>; query: Record<string, string> } | undefined {
    if (operation.security.length === 0 || operation.security.some((alt) => Object.keys(alt).length === 0))
      return { headers: {}, query: {} };
    const schemes = (this.options.contract.document.components?.['securitySchemes'] ?? {}) as Record<
      string,
      Record<string, unknown>
    >;
    for (const alternative of operation.security) {
      const headers: Record<string, string> = {};
      const query: Record<string, string> = {};
      let met = true;
      for (const name of Object.keys(alternative)) {
        const scheme = schemes[name] ?? {};
        if (
          scheme['type'] === 'oauth2' ||
          (scheme['type'] === 'http' && String(scheme['scheme']).toLowerCase() === 'bearer')
        ) {
          const bearer = token ?? actor?.token;
          if (bearer === undefined) met = false;
          else headers['authorization'] = `Bearer ${bearer}`;
        } else if (scheme['type'] === 'apiKey') {
          const key = token ?? this.options.apiKey;
          if (key === undefined) met = false;
          else if (scheme['in'] === 'query') query[String(scheme['name'])] = key;
          else if (scheme['in'] === 'header') headers[String(scheme['name']).toLowerCase()] = key;
          else met = false;
        } else met = false;
      }
      if (met) return { headers, query };
    }
    return undefined;
  }

  private async exchange(
    report: OperationReport,
    operation: OperationSpec,
    name: string,
    request: WireRequest,
    expectation: Expectation,
    checkAgainst: OperationSpec | undefined = operation,
  ): Promise<WireResponse> {
    const res = await send(this.options.baseUrl, request);
    report.ms += Math.round(res.ms);
    report.cases += 1;
    report.statuses[String(res.status)] = (report.statuses[String(res.status)] ?? 0) + 1;
    const problems = [
      ...(expectation.kind === 'method-not-allowed' ||
      expectation.kind === 'options' ||
      checkAgainst === undefined
        ? res.status >= 500 || res.status === 0
          ? [`server error ${res.status}`]
          : []
        : checkDeclared(this.options.contract, checkAgainst, res, request.method)),
      ...checkExpectation(expectation, res),
    ];
    if (problems.length > 0) {
      const failure: FailureReport = {
        operation: report.operation,
        case: name,
        status: res.status,
        problems,
        curl: toCurl(this.options.baseUrl, request),
      };
      report.failures += 1;
      report.firstFailure ??= failure;
      this.report.failures.push(failure);
    }
    return res;
  }

  /** The input built from the contract's examples (minimal values where there is none). */
  private exampleInput(operation: OperationSpec, pools: Pools): Input {
    const { contract } = this.options;
    const input: Input = { path: {}, query: {}, header: {} };
    for (const parameter of operation.parameters) {
      if (parameter.in === 'cookie') continue;
      const pooled = pools.get(parameter.name)?.[0];
      const value = parameter.in === 'path' && pooled !== undefined ? pooled : parameter.example;
      if (value !== undefined) input[parameter.in][parameter.name] = value;
      else if (parameter.required)
        input[parameter.in][parameter.name] = minimalValue(contract, parameter.schema);
    }
    const body = operation.requestBody;
    if (body !== undefined) {
      const [mediaType, media] = [...body.content.entries()][0] ?? [];
      if (mediaType !== undefined) {
        const value =
          media?.example ??
          (media?.schemaPointer === undefined
            ? {}
            : minimalValue(contract, contract.at(media.schemaPointer)));
        // In a form (the OAuth2 password grant) pooled credentials beat the example's, whose account may not exist.
        const pooled =
          isObject(value) && mediaType === 'application/x-www-form-urlencoded'
            ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, pools.get(k)?.[0] ?? v]))
            : value;
        return { ...input, body: { mediaType, value: pooled } };
      }
    }
    return input;
  }

  private inputArbitrary(operation: OperationSpec, pools: Pools): fc.Arbitrary<Input> {
    const options = { contract: this.options.contract, pools };
    const group = (location: 'path' | 'query' | 'header'): fc.Arbitrary<Record<string, unknown>> => {
      const members = operation.parameters.filter((p) => p.in === location);
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const p of members) {
        const arbitrary = arbitraryFor(options, this.options.contract.at(p.schemaPointer), p.name);
        // A header value travels as visible ASCII (RFC 9110 field-value; fetch refuses more).
        model[p.name] =
          location === 'header'
            ? arbitrary.map((v) => (typeof v === 'string' ? v.replace(/[^\x20-\x7e]/g, '') : v))
            : arbitrary;
      }
      return fc.record(model, { requiredKeys: members.filter((p) => p.required).map((p) => p.name) });
    };
    const [mediaType, media] = [...(operation.requestBody?.content.entries() ?? [])][0] ?? [];
    const body =
      mediaType === undefined
        ? fc.constant(undefined)
        : (media?.schemaPointer === undefined
            ? fc.constant({})
            : arbitraryFor(options, this.options.contract.at(media.schemaPointer))
          ).map((value) => ({ mediaType, value }));
    const inputs = fc
      .record({ path: group('path'), query: group('query'), header: group('header'), body })
      .map((input): Input =>
        input.body === undefined ? { path: input.path, query: input.query, header: input.header } : input,
      );
    if (SAFE.has(operation.method)) return inputs;
    // A random id may be the runner's own account: never change or delete that.
    return inputs.filter((input) =>
      Object.entries(input.path).every(
        ([name, value]) => !(this.protectedValues.get(name) ?? []).includes(value),
      ),
    );
  }

  private async runOperation(operation: OperationSpec): Promise<void> {
    const report = this.entry(operation);
    if (isUpgrade(operation)) {
      report.skipped = 'protocol upgrade (101): needs a WebSocket client, not plain HTTP cases';
      this.log(`skip ${operation.operationId}: ${report.skipped}`);
      return;
    }
    const mediaTypes = [...(operation.requestBody?.content.keys() ?? [])];
    const { contract } = this.options;
    const writable = mediaTypes.find(
      (type) =>
        isJsonType(type) ||
        ['application/x-www-form-urlencoded', 'multipart/form-data', 'application/octet-stream'].includes(
          type,
        ) ||
        type.startsWith('text/'),
    );
    if (mediaTypes.length > 0 && writable === undefined) {
      report.skipped = `no writer for request media types ${mediaTypes.join(', ')}`;
      return;
    }
    const actor = actorFor(this.actors, operation);
    const roleAllowed =
      operation.roles === undefined || (actor?.role !== undefined && operation.roles.includes(actor.role));
    const credentials = this.credentials(operation, actor);
    const secured = !(
      operation.security.length === 0 || operation.security.some((alt) => Object.keys(alt).length === 0)
    );
    if (credentials === undefined)
      this.report.notes.push(
        `${operation.operationId}: no credentials for its security; valid cases expect 401`,
      );
    const expectation: Expectation =
      credentials === undefined
        ? { kind: 'status', statuses: [401] }
        : secured && !roleAllowed
          ? { kind: 'status', statuses: [403] }
          : { kind: 'valid', withCredentials: secured };
    const pools = this.poolsFor(operation);
    const auth = credentials ?? { headers: {}, query: {} };
    const wire = (
      input: Input,
      extra: Record<string, string> = auth.headers,
      query: Record<string, string> = auth.query,
    ): WireRequest => toWire(contract, operation, input, extra, query);

    const isLogin = tokenOperation(contract) === operation;
    const loginAs = this.actors.user;
    // Logins are real accounts' logins: every generated one uses the runner's credentials, so none fails.
    const withCredentials = (input: Input): Input =>
      isLogin && loginAs?.email !== undefined && loginAs.password !== undefined && isObject(input.body?.value)
        ? {
            ...input,
            body: {
              mediaType: input.body.mediaType,
              value: { ...input.body.value, username: loginAs.email, password: loginAs.password },
            },
          }
        : input;
    const base = this.confined(operation, this.exampleInput(operation, pools));
    if (base === undefined) {
      report.skipped = "no path value that is surely not someone else's resource";
      return;
    }
    const generated = fc
      .sample(this.inputArbitrary(operation, pools), {
        numRuns: Math.max(0, this.options.cases - 1),
        seed: (this.options.seed ^ hash(operation.operationId)) | 0,
      })
      .flatMap((input) => {
        const confined = this.confined(operation, withCredentials(input));
        return confined === undefined ? [] : [confined];
      });
    let linkRuns = 0;
    const validCase = async (input: Input, name: string): Promise<void> => {
      const request = wire(input);
      const res = await this.exchange(report, operation, name, request, expectation);
      await this.followUp(report, operation, request, res, actor);
      if (res.status >= 200 && res.status < 300 && linkRuns < 2) {
        linkRuns += 1;
        await this.followLinks(operation, input, res, actor);
      }
    };
    await validCase(base, 'example');
    // A few at a time: the server's pipeline overlaps with the runner's, and races between cases are fair game.
    const width = this.options.concurrency ?? 4;
    for (let start = 0; start < generated.length; start += width) {
      await Promise.all(
        generated
          .slice(start, start + width)
          .map((input, i) => validCase(input, `generated #${start + i + 1} (seed ${this.options.seed})`)),
      );
    }
    for (const negative of negativesFor(contract, operation, base, this.options.bodyLimit)) {
      let request: WireRequest;
      if (negative.raw !== undefined) {
        const plain = wire({ path: base.path, query: base.query, header: base.header });
        const headers: Record<string, string> = { ...plain.headers };
        if (negative.raw.contentType !== undefined) headers['content-type'] = negative.raw.contentType;
        Object.assign(headers, negative.raw.headers);
        request = {
          ...plain,
          headers,
          ...(negative.raw.body === undefined ? {} : { body: negative.raw.body }),
        };
      } else {
        request = wire(negative.input ?? base);
      }
      const expected: Expectation =
        credentials === undefined
          ? { kind: 'status', statuses: [401] }
          : negative.statuses !== undefined && roleAllowed
            ? { kind: 'status', statuses: negative.statuses }
            : { kind: 'rejected' };
      await this.exchange(report, operation, `invalid: ${negative.name}`, request, expected);
    }
    if (secured) await this.credentialCases(report, operation, base);
    if (isLogin) await this.failedLoginCases(report, operation);
    this.log(`${operation.operationId}: ${report.cases} cases, ${report.failures} failures`);
  }

  private async credentialCases(
    report: OperationReport,
    operation: OperationSpec,
    base: Input,
  ): Promise<void> {
    const { contract } = this.options;
    await this.exchange(report, operation, 'no credentials', toWire(contract, operation, base, {}), {
      kind: 'status',
      statuses: [401],
    });
    const bogus = this.credentials(operation, undefined, 'not-a-valid-credential');
    if (bogus !== undefined) {
      await this.exchange(
        report,
        operation,
        'invalid credentials',
        toWire(contract, operation, base, bogus.headers, bogus.query),
        { kind: 'status', statuses: [401, 403] },
      );
    }
    const user = this.actors.user;
    if (operation.roles !== undefined && user?.role !== undefined && !operation.roles.includes(user.role)) {
      const creds = this.credentials(operation, user);
      if (creds !== undefined) {
        await this.exchange(
          report,
          operation,
          `role ${user.role} not in x-roles`,
          toWire(contract, operation, base, creds.headers, creds.query),
          { kind: 'status', statuses: [403] },
        );
      }
    }
  }

  /**
   * A wrong password and an unknown account are 401, each followed by a good
   * login (which clears the account's count on servers that do). Only on an
   * account the runner signed up itself, and FAILED_LOGINS in all, so neither an
   * operator's account nor the client address gets locked.
   */
  private async failedLoginCases(report: OperationReport, operation: OperationSpec): Promise<void> {
    const own = this.actors.user;
    if (own?.created !== true || own.email === undefined || own.password === undefined) {
      this.report.notes.push(
        `${operation.operationId}: no account of the runner's own, no failed-login case`,
      );
      return;
    }
    const { email, password } = own;
    const attempts = [
      { name: 'failed login: wrong password of its own account', username: email, password: `${password}x` },
      { name: 'failed login: an account that does not exist', username: `nobody-${email}`, password },
    ].slice(0, FAILED_LOGINS);
    const form = (username: string, secret: string): WireRequest =>
      toWire(
        this.options.contract,
        operation,
        {
          path: {},
          query: {},
          header: {},
          body: {
            mediaType: 'application/x-www-form-urlencoded',
            value: { grant_type: 'password', username, password: secret },
          },
        },
        {},
      );
    for (const attempt of attempts) {
      await this.exchange(report, operation, attempt.name, form(attempt.username, attempt.password), {
        kind: 'status',
        statuses: [401],
      });
      await this.exchange(report, operation, `a good login after: ${attempt.name}`, form(email, password), {
        kind: 'success',
      });
    }
  }

  /** After a 201 with `Location`, the resource can be fetched; after a successful DELETE, it is gone. */
  private async followUp(
    report: OperationReport,
    operation: OperationSpec,
    request: WireRequest,
    res: WireResponse,
    actor: Actor | undefined,
  ): Promise<void> {
    const location = res.headers.get('location');
    if (res.status === 201 && location !== null) {
      const target = this.learnLocation(location);
      const auth =
        target === undefined
          ? {}
          : (this.credentials(target.operation, this.actors.admin ?? actor)?.headers ?? {});
      const path = new URL(location, this.options.baseUrl);
      const get: WireRequest = {
        method: 'GET',
        target: path.pathname + path.search,
        headers: { accept: '*/*', ...auth },
      };
      // Without an admin, a resource owned by someone else may rightly be hidden (404): only check it is declared.
      const owned =
        target !== undefined &&
        target.operation.raw['x-owner-param'] !== undefined &&
        this.actors.admin === undefined &&
        operation.security.length === 0;
      await this.exchange(
        report,
        operation,
        `GET the created resource at ${location}`,
        get,
        owned ? { kind: 'valid', withCredentials: true } : { kind: 'success' },
        target?.operation,
      );
    }
    if (operation.method === 'delete' && res.status >= 200 && res.status < 300) {
      const getter = this.byPath.get(operation.path)?.find((op) => op.method === 'get');
      if (getter === undefined) return;
      const auth = this.credentials(getter, this.actors.admin ?? actor)?.headers ?? {};
      const get: WireRequest = {
        method: 'GET',
        target: request.target.split('?')[0] ?? request.target,
        headers: { accept: '*/*', ...auth },
      };
      await this.exchange(
        report,
        operation,
        `GET after DELETE ${request.target}`,
        get,
        { kind: 'status', statuses: [404] },
        getter,
      );
    }
  }

  /** Follows the OpenAPI `links` of a successful response: reads and changes first, deletes last. */
  private async followLinks(
    operation: OperationSpec,
    input: Input,
    res: WireResponse,
    actor: Actor | undefined,
  ): Promise<boolean> {
    const { contract } = this.options;
    const rawResponse = contract.deref(
      (operation.raw['responses'] as Record<string, unknown> | undefined)?.[String(res.status)],
    );
    const links = isObject(rawResponse['links'])
      ? Object.entries(rawResponse['links']).map(([name, link]) => [name, contract.deref(link)] as const)
      : [];
    if (links.length === 0) return false;
    const body = parseJson(res);
    const evaluate = (expression: unknown): unknown => {
      if (typeof expression !== 'string' || !expression.startsWith('$')) return expression;
      if (expression.startsWith('$response.body#'))
        return pointerInto(body, expression.slice('$response.body#'.length));
      if (expression.startsWith('$response.header.'))
        return res.headers.get(expression.slice('$response.header.'.length)) ?? undefined;
      if (expression.startsWith('$request.path.'))
        return input.path[expression.slice('$request.path.'.length)];
      if (expression.startsWith('$request.query.'))
        return input.query[expression.slice('$request.query.'.length)];
      if (expression.startsWith('$request.body#'))
        return pointerInto(input.body?.value, expression.slice('$request.body#'.length));
      if (expression === '$statusCode') return res.status;
      return undefined;
    };
    const steps = links
      .map(([name, link]) => ({ name, link, target: contract.spec.byId.get(String(link['operationId'])) }))
      .sort((a, b) => Number(a.target?.method === 'delete') - Number(b.target?.method === 'delete'));
    for (const { name, link, target } of steps) {
      if (target === undefined) {
        const report = this.entry(operation);
        report.cases += 1;
        report.failures += 1;
        const failure = {
          operation: operation.operationId,
          case: `link ${name}`,
          status: 0,
          problems: [
            `link ${name} names operation ${String(link['operationId'])}, which the contract does not have`,
          ],
          curl: '',
        };
        report.firstFailure ??= failure;
        this.report.failures.push(failure);
        continue;
      }
      const [sample] = fc.sample(this.inputArbitrary(target, this.poolsFor(target)), {
        numRuns: 1,
        seed: (this.options.seed ^ hash(`${operation.operationId}:${name}`)) | 0,
      });
      const next: Input = sample ?? { path: {}, query: {}, header: {} };
      // Only what the link sets and what the target requires: a random optional filter would change the answer.
      const keep = (
        location: 'path' | 'query' | 'header',
        values: Record<string, unknown>,
      ): Record<string, unknown> =>
        Object.fromEntries(
          Object.entries(values).filter(([n]) =>
            target.parameters.some((p) => p.in === location && p.name === n && p.required),
          ),
        );
      const stepInput: Input = {
        path: keep('path', next.path),
        query: keep('query', next.query),
        header: keep('header', next.header),
        ...(next.body === undefined ? {} : { body: next.body }),
      };
      for (const [qualified, expression] of Object.entries(
        isObject(link['parameters']) ? link['parameters'] : {},
      )) {
        const [location, paramName] = qualified.includes('.')
          ? (qualified.split('.', 2) as [string, string])
          : [target.parameters.find((p) => p.name === qualified)?.in ?? 'path', qualified];
        if (location === 'path' || location === 'query' || location === 'header')
          stepInput[location][paramName] = evaluate(expression);
      }
      const linkBody =
        link['requestBody'] === undefined || stepInput.body === undefined
          ? stepInput.body
          : { mediaType: stepInput.body.mediaType, value: evaluate(link['requestBody']) };
      const finalInput = this.confined(target, { ...stepInput, body: linkBody });
      if (finalInput === undefined) continue;
      const stepActor = actorFor(this.actors, target) ?? actor;
      const creds = this.credentials(target, stepActor);
      const request = toWire(contract, target, finalInput, creds?.headers ?? {}, creds?.query ?? {});
      const roleAllowed =
        target.roles === undefined ||
        (stepActor?.role !== undefined && target.roles.includes(stepActor.role));
      // Without an admin, someone else's resource may rightly be hidden (x-owner-param: 404).
      const mayBeHidden = stepActor?.name !== 'admin' && target.raw['x-owner-param'] !== undefined;
      // A step without a body must simply work; one with a generated body may meet a declared business rule (409, 422).
      const expectation: Expectation = !roleAllowed
        ? { kind: 'status', statuses: [403] }
        : finalInput.body === undefined && !mayBeHidden
          ? { kind: 'success' }
          : { kind: 'valid', withCredentials: true };
      const stepReport = this.entry(target);
      const stepRes = await this.exchange(
        stepReport,
        target,
        `link ${name} from ${operation.operationId} → ${target.operationId} ${fillPath(target.path, finalInput.path)}`,
        request,
        expectation,
        target,
      );
      await this.followUp(stepReport, target, request, stepRes, actor);
    }
    return true;
  }

  /**
   * OPTIONS is 204, and every method a path does not answer is 405, both with an
   * `Allow` naming exactly the declared methods plus the implied HEAD (where GET
   * is declared) and OPTIONS.
   */
  private async runMethods(path: string, operations: readonly OperationSpec[]): Promise<void> {
    const declared = operations.map((op) => op.method.toUpperCase());
    const allow = allowedMethods(declared);
    const report: OperationReport = {
      operation: `(methods) ${path}`,
      method: declared.join(','),
      path,
      cases: 0,
      failures: 0,
      ms: 0,
      statuses: {},
    };
    this.report.operations.push(report);
    if (operations.some(isUpgrade)) {
      report.skipped = 'protocol upgrade path';
      return;
    }
    const first = operations[0];
    if (first === undefined) return;
    const values: Record<string, unknown> = {};
    // Undeclared methods include PUT and DELETE: only the runner's own ids, or none that exists.
    for (const p of first.parameters.filter((p) => p.in === 'path')) {
      values[p.name] = this.owned(p.name)[0] ?? this.nonexistent(p);
      if (values[p.name] === undefined) {
        report.skipped = `no value for {${p.name}} that is surely not someone else's resource`;
        return;
      }
    }
    const target = fillPath(path, values);
    await this.exchange(
      report,
      first,
      `OPTIONS ${target}`,
      { method: 'OPTIONS', target, headers: { accept: '*/*' } },
      { kind: 'options', allow },
    );
    for (const method of METHODS.filter((m) => !allow.includes(m))) {
      const request: WireRequest = {
        method,
        target,
        headers: {
          accept: '*/*',
          ...(this.actors.user === undefined ? {} : { authorization: `Bearer ${this.actors.user.token}` }),
        },
      };
      await this.exchange(report, first, `${method} ${target}`, request, {
        kind: 'method-not-allowed',
        allow,
      });
    }
  }
}

/** Runs the whole conformance suite; the report says what failed. */
export async function runContract(options: RunOptions): Promise<RunReport> {
  return new Run(options).run();
}

/** All operations passed? */
export const passed = (report: RunReport): boolean => report.failures.length === 0;
