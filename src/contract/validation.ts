/**
 * The one Ajv instance. It holds the whole contract as a schema, so every
 * validator (parameters, bodies, responses, multipart fields, WebSocket frames)
 * is a `$ref` into the same document and shared subschemas compile once.
 * Every validator an operation needs is compiled at start-up.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ErrorLocation, FieldError, Violations } from './errors.js';
import type { OperationSpec, ParameterLocation, ParameterSpec, Spec } from './spec.js';
import { escapePointer } from './spec.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module object, whose `default` is the plugin.
const addFormats = addFormatsModule.default;

const DOCUMENT_ID = 'openapi';
/** OpenAPI keywords that may appear inside schemas and carry no validation meaning. */
const OPENAPI_SCHEMA_KEYWORDS = ['example', 'discriminator', 'xml', 'externalDocs'];
/** The document members kept in Ajv's copy, declared as (inert) keywords for strict mode. */
const DOCUMENT_MEMBERS = ['components', 'paths'];

export interface ParameterValidator {
  readonly location: ParameterLocation;
  readonly parameters: readonly ParameterSpec[];
  /** Where each parameter is found: its name, lower-cased for a header (Node's request headers are). */
  readonly keys: readonly string[];
  readonly validate: ValidateFunction;
}

export interface OperationValidators {
  readonly parameters: readonly ParameterValidator[];
  /** Keyed by lower-case media type. */
  readonly bodies: ReadonlyMap<string, ValidateFunction>;
  /** status → media type → validator; a media type without a schema maps to undefined. */
  readonly responses: ReadonlyMap<number, ReadonlyMap<string, ValidateFunction | undefined>>;
  readonly responseHeaders: ReadonlyMap<number, ReadonlyMap<string, ValidateFunction>>;
}

export interface Validation {
  readonly ajv: Ajv2020;
  /** An operation's validators, compiled on first use and then kept. */
  operation(operationId: string): OperationValidators;
  /** A validator for any schema in the document, compiled once and cached (WS frames, multipart fields). */
  schema(pointer: string): ValidateFunction;
  /** Compiles every operation's validators now; throws if a schema does not compile. */
  warmUp(): void;
  /** Compiles them one operation per event-loop turn, so requests interleave; resolves when done. */
  warmUpInBackground(): Promise<void>;
}

/** Every `x-` key used inside the document, so strict Ajv accepts extensions on schemas. */
function extensionKeywords(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) extensionKeywords(item, found);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      if (key.startsWith('x-')) found.add(key);
      extensionKeywords(child, found);
    }
  }
  return found;
}

/** The decimal digits of a finite number's shortest representation, scaled to `places` decimals; undefined if it has more. */
function scaled(value: number, places: number): bigint | undefined {
  const [mantissa = '0', exponent = '0'] = Math.abs(value).toString().toLowerCase().split('e');
  const [whole = '0', fraction = ''] = mantissa.split('.');
  const shift = places + Number(exponent);
  const digits = whole + fraction;
  const decimals = fraction.length;
  if (decimals > shift) {
    const dropped = digits.slice(digits.length - (decimals - shift));
    if (/[^0]/.test(dropped)) return undefined;
    return BigInt(digits.slice(0, digits.length - (decimals - shift)) || '0');
  }
  return BigInt(digits) * 10n ** BigInt(shift - decimals);
}

/**
 * `multipleOf` with exact decimal arithmetic: Ajv's float division says 19.99
 * is not a multiple of 0.01. Money in the contract relies on this.
 */
export function addExactMultipleOf(ajv: Ajv2020): void {
  ajv.removeKeyword('multipleOf');
  ajv.addKeyword({
    keyword: 'multipleOf',
    type: 'number',
    schemaType: 'number',
    error: { message: ({ schema }) => `must be multiple of ${String(schema)}` },
    validate: (divisor: number, value: number) => {
      if (!Number.isFinite(value)) return false;
      const places = Math.max(0, (divisor.toString().split('.')[1] ?? '').length);
      const d = scaled(divisor, places);
      const v = scaled(value, places);
      return d !== undefined && d !== 0n && v !== undefined && v % d === 0n;
    },
  });
}

function addOpenApiFormats(ajv: Ajv2020): void {
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('password', true);
  ajv.addFormat('binary', true);
}

/**
 * Builds the Ajv instance for a contract. Operation validators compile on
 * first use (about 20 ms an operation here), so start-up does not wait for
 * all of them; `warmUp()` compiles them all at once.
 */
export function createValidation(spec: Spec): Validation {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    // The contract composes with allOf/unevaluatedProperties; these two checks misfire on that style.
    strictTypes: false,
    strictRequired: false,
    // Formats such as `email` are checked by ajv-formats; `$data` and coercion stay off: bodies are never coerced.
    coerceTypes: false,
    useDefaults: false,
  });
  addFormats(ajv);
  addOpenApiFormats(ajv);
  addExactMultipleOf(ajv);
  ajv.addVocabulary([...OPENAPI_SCHEMA_KEYWORDS, ...DOCUMENT_MEMBERS, ...extensionKeywords(spec.document)]);
  // Only the members that hold schemas; Ajv compiles the root too when it resolves a `$ref` into it.
  const root = { components: spec.document.components ?? {}, paths: spec.document.paths ?? {} };
  ajv.addSchema(root, DOCUMENT_ID, undefined, false);

  const cache = new Map<string, ValidateFunction>();
  const schema = (pointer: string): ValidateFunction => {
    let validate = cache.get(pointer);
    if (validate === undefined) {
      validate = ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer}` });
      cache.set(pointer, validate);
    }
    return validate;
  };

  const compiled = new Map<string, OperationValidators>();
  const operation = (operationId: string): OperationValidators => {
    let validators = compiled.get(operationId);
    if (validators === undefined) {
      const found = spec.byId.get(operationId);
      if (found === undefined) throw new Error(`Unknown operation ${operationId}`);
      validators = compileOperation(ajv, schema, found);
      compiled.set(operationId, validators);
    }
    return validators;
  };
  return {
    ajv,
    operation,
    schema,
    warmUp() {
      for (const { operationId } of spec.operations) operation(operationId);
    },
    async warmUpInBackground() {
      for (const { operationId } of spec.operations) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        operation(operationId);
      }
    },
  };
}

function compileOperation(
  ajv: Ajv2020,
  schema: (pointer: string) => ValidateFunction,
  operation: OperationSpec,
): OperationValidators {
  const parameters: ParameterValidator[] = [];
  for (const location of ['path', 'query', 'header', 'cookie'] as const) {
    const list = operation.parameters.filter((p) => p.in === location);
    if (list.length === 0) continue;
    const validate = ajv.compile({
      type: 'object',
      properties: Object.fromEntries(
        list.map((p) => [p.name, { $ref: `${DOCUMENT_ID}#${p.schemaPointer}` }]),
      ),
      required: list.filter((p) => p.required).map((p) => p.name),
    });
    const keys = list.map((p) => (location === 'header' ? p.name.toLowerCase() : p.name));
    parameters.push({ location, parameters: list, keys, validate });
  }

  const bodies = new Map<string, ValidateFunction>();
  for (const [type, media] of operation.requestBody?.content ?? []) {
    if (media.schemaPointer !== undefined) bodies.set(type, schema(media.schemaPointer));
  }

  const responses = new Map<number, Map<string, ValidateFunction | undefined>>();
  const responseHeaders = new Map<number, Map<string, ValidateFunction>>();
  for (const [status, response] of operation.responses) {
    const byType = new Map<string, ValidateFunction | undefined>();
    for (const [type, media] of response.content) {
      byType.set(type, media.schemaPointer === undefined ? undefined : schema(media.schemaPointer));
    }
    responses.set(status, byType);
    const headers = new Map<string, ValidateFunction>();
    for (const [name, header] of response.headers) headers.set(name, schema(header.schemaPointer));
    responseHeaders.set(status, headers);
  }
  return { parameters, bodies, responses, responseHeaders };
}

/** Turns Ajv's errors into the 422 problem's entries, pointing at the offending member itself. */
export function toFieldErrors(
  location: ErrorLocation,
  errors: readonly ErrorObject[] | null | undefined,
  max = Infinity,
): FieldError[] {
  const all = errors ?? [];
  return (all.length > max ? all.slice(0, max) : all).map((error) => {
    let path = error.instancePath;
    const params = error.params as Record<string, unknown>;
    const member =
      error.keyword === 'required'
        ? params['missingProperty']
        : error.keyword === 'additionalProperties'
          ? params['additionalProperty']
          : error.keyword === 'unevaluatedProperties'
            ? params['unevaluatedProperty']
            : undefined;
    if (typeof member === 'string') path = `${path}/${escapePointer(member)}`;
    const message =
      error.keyword === 'additionalProperties' || error.keyword === 'unevaluatedProperties'
        ? 'is not an allowed property'
        : (error.message ?? 'is invalid');
    return { in: location, path, message, keyword: error.keyword };
  });
}

/** Adds Ajv's errors to a request's violations, mapping only those that will be listed. */
export function addAjvErrors(
  violations: Violations,
  location: ErrorLocation,
  errors: readonly ErrorObject[] | null | undefined,
): void {
  const all = errors ?? [];
  const mapped = toFieldErrors(location, all, violations.room);
  for (const error of mapped) violations.add(error);
  violations.count(all.length - mapped.length);
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function types(schema: Readonly<Record<string, unknown>>): readonly unknown[] {
  const type = schema['type'];
  return Array.isArray(type) ? type : [type];
}

/**
 * Converts a raw parameter value (a string, or several for a repeated query key)
 * to the type its schema declares; a value that does not convert is left as it
 * is so that validation reports it.
 */
export function coerceParameter(
  raw: string | readonly string[],
  schema: Readonly<Record<string, unknown>>,
): unknown {
  const kinds = types(schema);
  if (kinds.includes('array')) {
    const items = (schema['items'] ?? {}) as Record<string, unknown>;
    const values = typeof raw === 'string' ? raw.split(',') : raw;
    return values.map((value) => coerceParameter(value, items));
  }
  if (typeof raw !== 'string') return raw.length === 1 ? coerceParameter(raw[0] ?? '', schema) : [...raw];
  if ((kinds.includes('integer') || kinds.includes('number')) && NUMBER.test(raw)) return Number(raw);
  if (kinds.includes('boolean') && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}
