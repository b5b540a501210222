/**
 * Deprecation and sunset, read from the contract once at start-up.
 *
 * - An operation with `deprecated: true` answers every request with
 *   `Deprecation: @<unix seconds>` (RFC 9745, a structured-field date, from its
 *   `x-deprecation-date`), `Sunset: <HTTP-date>` (RFC 8594, from `x-sunset`) and
 *   `Link: </docs#/<tag>/<operationId>>; rel="deprecation"`. RFC 9745 allows
 *   only a date, so without `x-deprecation-date` the Deprecation field is left
 *   out (a warning at start-up says so) and the Link still announces it.
 * - An operation with deprecated parameters or body properties sends the Link
 *   on every answer; a request that uses one is reported to `onUse` (counted,
 *   and logged once per client and day).
 * - Past its sunset, with `SUNSET_ENFORCE=true`, the operation answers 410.
 *
 * The HTTP layer calls `announce()` when a request is routed and `used()`
 * once its input is parsed; everything else is computed here, once.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics.js';
import { ApiError } from './errors.js';
import type { MediaSpec, OperationSpec, Spec } from './spec.js';

type Json = Readonly<Record<string, unknown>>;

export interface DeprecationOptions {
  /** Answer 410 after an operation's `x-sunset`. */
  readonly enforceSunset: boolean;
  /** Where the docs are served; the Link points at `<docsPath>#/<tag>/<operationId>`. */
  readonly docsPath: string;
  readonly now?: () => number;
  /** Called for each deprecated field a request used, with who sent it. */
  readonly onUse?: (use: DeprecatedUse, client: string) => void;
  /** Called once per problem found in the contract at start-up. */
  readonly warn?: (message: string) => void;
}

export interface DeprecatedUse {
  readonly operationId: string;
  /** `query parameter limit`, `body property address.zip`. */
  readonly field: string;
}

export interface Deprecations {
  /**
   * Sets the operation's constant deprecation headers on the response; throws
   * 410 when it is past its sunset and the operator enforces sunsets.
   */
  announce(operationId: string, response: { setHeader(name: string, value: string): unknown }): void;
  /**
   * Reports the deprecated parameters and body properties this input uses to
   * `onUse` with the client (asked for only then) and returns them; usually
   * none, after one Map lookup.
   */
  used(
    operationId: string,
    input: Readonly<Record<string, unknown>>,
    client: () => string,
  ): readonly DeprecatedUse[];
  /** Whether the operation has deprecated parameters or body properties (`used` can find any). */
  watchesFields(operationId: string): boolean;
}

interface OperationPlan {
  readonly headers: readonly (readonly [string, string])[];
  readonly sunsetAt: number | undefined;
  readonly retiredDetail: string;
  readonly parameters: readonly { readonly in: string; readonly name: string }[];
  /** Paths of deprecated properties in the JSON body, e.g. [['address', 'zip']]. */
  readonly properties: readonly (readonly string[])[];
}

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The value at a JSON Pointer (`/components/…`, or `#/components/…` as in a `$ref`). */
function pointerGet(document: unknown, pointer: string): unknown {
  const path = pointer.startsWith('#') ? pointer.slice(1) : pointer;
  if (path === '') return document;
  let node = document;
  for (const raw of path.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = isObject(node) ? node[key] : Array.isArray(node) ? (node as unknown[])[Number(key)] : undefined;
  }
  return node;
}

function deref(document: unknown, value: unknown): unknown {
  for (let i = 0; i < 20 && isObject(value) && typeof value['$ref'] === 'string'; i++) {
    value = pointerGet(document, value['$ref']);
  }
  return value;
}

/** A date from the contract (`2027-06-30` or an RFC 3339 date-time) in ms; throws on anything else. */
function contractDate(operation: OperationSpec, key: string): number | undefined {
  const raw = operation.raw[key];
  if (raw === undefined) return undefined;
  const ms = typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : NaN;
  if (Number.isNaN(ms)) {
    throw new Error(
      `${operation.operationId}: ${key} must be a date like 2027-06-30, got ${JSON.stringify(raw)}`,
    );
  }
  return ms;
}

/** Paths of properties marked deprecated in a body schema (through $refs and allOf). */
function deprecatedProperties(
  document: unknown,
  schema: unknown,
  prefix: string[] = [],
  depth = 0,
): string[][] {
  const node = deref(document, schema);
  if (!isObject(node) || depth > 8) return [];
  const found: string[][] = [];
  for (const part of Array.isArray(node['allOf']) ? node['allOf'] : []) {
    found.push(...deprecatedProperties(document, part, prefix, depth + 1));
  }
  const properties = isObject(node['properties']) ? node['properties'] : {};
  for (const [name, child] of Object.entries(properties)) {
    const resolved = deref(document, child);
    const path = [...prefix, name];
    if (isObject(resolved) && resolved['deprecated'] === true) found.push(path);
    found.push(...deprecatedProperties(document, resolved, path, depth + 1));
  }
  return found;
}

function has(body: unknown, path: readonly string[]): boolean {
  let node = body;
  for (const key of path) {
    if (!isObject(node) || !Object.hasOwn(node, key)) return false;
    node = node[key];
  }
  return true;
}

function plan(spec: Spec, operation: OperationSpec, options: DeprecationOptions): OperationPlan | undefined {
  const document = spec.document;
  const parameters = operation.parameters
    .filter((parameter) => {
      const object = pointerGet(document, parameter.schemaPointer.replace(/\/schema$/, ''));
      return isObject(object) && object['deprecated'] === true;
    })
    .map((parameter) => ({ in: parameter.in, name: parameter.name }));
  const content: ReadonlyMap<string, MediaSpec> = operation.requestBody?.content ?? new Map();
  const pointer = [...content].find(([type]) => /json/.test(type))?.[1].schemaPointer;
  const properties =
    pointer === undefined ? [] : deprecatedProperties(document, pointerGet(document, pointer));
  const deprecated = operation.raw['deprecated'] === true;
  if (!deprecated && parameters.length === 0 && properties.length === 0) return undefined;

  const tags = operation.raw['tags'];
  const tag = Array.isArray(tags) && typeof tags[0] === 'string' ? tags[0] : 'default';
  const docs = `${options.docsPath}#/${encodeURIComponent(tag)}/${encodeURIComponent(operation.operationId)}`;
  const headers: [string, string][] = [['Link', `<${docs}>; rel="deprecation"; type="text/html"`]];
  let sunsetAt: number | undefined;
  if (deprecated) {
    const since = contractDate(operation, 'x-deprecation-date');
    sunsetAt = contractDate(operation, 'x-sunset');
    if (since !== undefined) headers.unshift(['Deprecation', `@${Math.floor(since / 1000)}`]);
    else
      options.warn?.(
        `${operation.operationId} is deprecated without x-deprecation-date: no Deprecation header`,
      );
    if (sunsetAt !== undefined) headers.push(['Sunset', new Date(sunsetAt).toUTCString()]);
  } else if (operation.raw['x-sunset'] !== undefined) {
    options.warn?.(`${operation.operationId} has x-sunset but is not deprecated: x-sunset is ignored`);
  }
  const retiredDetail =
    `${operation.method.toUpperCase()} ${operation.path} was retired on ` +
    `${sunsetAt === undefined ? '' : new Date(sunsetAt).toISOString().slice(0, 10)}; see ${docs}.`;
  return { headers, sunsetAt, retiredDetail, parameters, properties };
}

/**
 * Reads every deprecation in the contract.
 * @example const deprecations = createDeprecations(spec, { enforceSunset: false, docsPath: '/docs' });
 */
export function createDeprecations(spec: Spec, options: DeprecationOptions): Deprecations {
  const now = options.now ?? Date.now;
  const plans = new Map<string, OperationPlan>();
  for (const operation of spec.operations) {
    const found = plan(spec, operation, options);
    if (found !== undefined) plans.set(operation.operationId, found);
  }
  return {
    announce(operationId, response) {
      const found = plans.get(operationId);
      if (found === undefined) return;
      for (const [name, value] of found.headers) response.setHeader(name, value);
      if (options.enforceSunset && found.sunsetAt !== undefined && now() >= found.sunsetAt) {
        throw new ApiError('operation-retired', found.retiredDetail);
      }
    },
    watchesFields(operationId) {
      const found = plans.get(operationId);
      return found !== undefined && (found.parameters.length > 0 || found.properties.length > 0);
    },
    used(operationId, input, client) {
      const found = plans.get(operationId);
      if (found === undefined) return [];
      const uses: DeprecatedUse[] = [];
      for (const parameter of found.parameters) {
        const values = input[parameter.in];
        if (isObject(values) && values[parameter.name] !== undefined) {
          uses.push({ operationId, field: `${parameter.in} parameter ${parameter.name}` });
        }
      }
      for (const path of found.properties) {
        if (has(input['body'], path)) uses.push({ operationId, field: `body property ${path.join('.')}` });
      }
      if (uses.length > 0) {
        const who = client();
        for (const use of uses) options.onUse?.(use, who);
      }
      return uses;
    },
  };
}

/**
 * Logs each (client, field) once per UTC day, remembering at most `limit`
 * pairs a day: past that, further first uses that day go unlogged (they are
 * still counted by the metric), so memory stays bounded whatever clients send.
 */
export class OncePerDay {
  private day = -1;
  private readonly seen = new Set<string>();

  constructor(
    private readonly limit: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True the first time this key is offered on the current day, while there is room. */
  first(key: string): boolean {
    const day = Math.floor(this.now() / 86_400_000);
    if (day !== this.day) {
      this.day = day;
      this.seen.clear();
    }
    if (this.seen.has(key) || this.seen.size >= this.limit) return false;
    this.seen.add(key);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}

/** First uses logged per day, at most: about 100 bytes each, so about 1 MB at worst. */
const LOGGED_USES_PER_DAY = 10_000;

/**
 * The app's deprecations: uses counted in `api_deprecated_use_total` and
 * logged once per client, field and day; sunsets enforced per SUNSET_ENFORCE.
 */
export function deprecationsFor(
  spec: Spec,
  deps: {
    readonly config: Pick<Config, 'sunsetEnforce'>;
    readonly log: Pick<Logger, 'warn'>;
    readonly metrics: Pick<Metrics, 'deprecatedUse'>;
  },
): Deprecations {
  const logged = new OncePerDay(LOGGED_USES_PER_DAY);
  return createDeprecations(spec, {
    enforceSunset: deps.config.sunsetEnforce,
    docsPath: '/docs',
    warn: (message) => {
      deps.log.warn(message);
    },
    onUse: (use, client) => {
      deps.metrics.deprecatedUse(use.operationId, use.field);
      if (logged.first(`${client} ${use.operationId} ${use.field}`)) {
        deps.log.warn({ operationId: use.operationId, field: use.field, client }, 'deprecated field used');
      }
    },
  });
}
