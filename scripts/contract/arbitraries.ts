/**
 * JSON Schema → fast-check arbitraries, for valid request values. Every leaf is
 * checked against its own schema and replaced by a known-good value when the
 * generator strays (lookahead patterns, grapheme vs code-point lengths), so a
 * "valid" case is valid by the same Ajv that checks responses.
 */
import fc from 'fast-check';
import type { Contract, Schema } from './document.js';
import { isObject } from './document.js';

/** Values the server has handed out (ids from `Location`), by property or parameter name. */
export type Pools = ReadonlyMap<string, readonly unknown[]>;

export interface GenerateOptions {
  readonly contract: Contract;
  /** Known values per name: generated values prefer them (an existing item id beats a random one). */
  readonly pools: Pools;
  /** Byte strings for `format: binary` (multipart file parts) are generated as small text. */
  readonly maxDepth?: number;
}

const SAFE_MAX = Number.MAX_SAFE_INTEGER;

function typesOf(schema: Schema): string[] {
  const type = schema['type'];
  if (Array.isArray(type)) return type.map(String);
  if (typeof type === 'string') return [type];
  if (isObject(schema['properties'])) return ['object'];
  if (schema['items'] !== undefined) return ['array'];
  return [];
}

/** Shallow merge of `allOf` members into their parent (enough for request bodies). */
export function flatten(contract: Contract, value: unknown): Schema {
  const schema = contract.deref(value);
  const parts = Array.isArray(schema['allOf']) ? schema['allOf'].map((part) => flatten(contract, part)) : [];
  if (parts.length === 0) return schema;
  const merged: Record<string, unknown> = { ...schema };
  delete merged['allOf'];
  const properties: Record<string, unknown> = {};
  const required = new Set<string>();
  for (const part of [...parts, schema]) {
    Object.assign(properties, isObject(part['properties']) ? part['properties'] : {});
    for (const name of Array.isArray(part['required']) ? part['required'] : []) required.add(String(name));
    for (const [key, child] of Object.entries(part)) {
      if (!['properties', 'required', 'allOf'].includes(key) && merged[key] === undefined)
        merged[key] = child;
    }
  }
  merged['properties'] = properties;
  merged['required'] = [...required];
  merged['type'] ??= 'object';
  return merged;
}

/** A value of the right shape without randomness: the schema's example, default or a minimal value. */
export function minimalValue(contract: Contract, value: unknown, depth = 0): unknown {
  const schema = flatten(contract, value);
  const validate = contract.compile(schema);
  for (const candidate of [schema['example'], schema['default'], schema['const']]) {
    if (candidate !== undefined && validate(candidate)) return candidate;
  }
  if (Array.isArray(schema['enum'])) return schema['enum'][0];
  const alternatives = (schema['oneOf'] ?? schema['anyOf']) as unknown[] | undefined;
  if (Array.isArray(alternatives) && alternatives[0] !== undefined)
    return minimalValue(contract, alternatives[0], depth + 1);
  const [type] = typesOf(schema);
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const properties = isObject(schema['properties']) ? schema['properties'] : {};
      const required = Array.isArray(schema['required']) ? schema['required'].map(String) : [];
      const wanted =
        required.length > 0 || depth > 3
          ? required
          : Object.keys(properties).slice(0, Number(schema['minProperties'] ?? 0));
      for (const name of wanted) out[name] = minimalValue(contract, properties[name] ?? {}, depth + 1);
      return out;
    }
    case 'array':
      return Array.from({ length: Number(schema['minItems'] ?? 0) }, () =>
        minimalValue(contract, schema['items'] ?? {}, depth + 1),
      );
    case 'integer':
    case 'number': {
      const min =
        typeof schema['minimum'] === 'number'
          ? schema['minimum']
          : typeof schema['exclusiveMinimum'] === 'number'
            ? schema['exclusiveMinimum'] + Number(schema['multipleOf'] ?? 1)
            : 1;
      return min;
    }
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      return 'x'.repeat(Math.max(1, Number(schema['minLength'] ?? 1)));
  }
}

function decimals(n: number): number {
  const text = n.toString();
  if (text.includes('e-')) return Number(text.split('e-')[1]);
  return (text.split('.')[1] ?? '').length;
}

function numberArbitrary(schema: Schema, integer: boolean): fc.Arbitrary<number> {
  const step = typeof schema['multipleOf'] === 'number' ? schema['multipleOf'] : integer ? 1 : undefined;
  let min = typeof schema['minimum'] === 'number' ? schema['minimum'] : -1_000_000;
  let max = typeof schema['maximum'] === 'number' ? schema['maximum'] : 1_000_000_000;
  const exclusiveMin = typeof schema['exclusiveMinimum'] === 'number';
  const exclusiveMax = typeof schema['exclusiveMaximum'] === 'number';
  if (exclusiveMin) min = Math.max(min, schema['exclusiveMinimum'] as number);
  if (exclusiveMax) max = Math.min(max, schema['exclusiveMaximum'] as number);
  if (schema['format'] === 'int64' && schema['maximum'] === undefined) max = SAFE_MAX;
  if (step !== undefined) {
    let low = Math.ceil(min / step - 1e-9);
    let high = Math.floor(max / step + 1e-9);
    if (exclusiveMin && Math.abs(low * step - min) < 1e-9) low += 1;
    if (exclusiveMax && Math.abs(high * step - max) < 1e-9) high -= 1;
    const places = decimals(step);
    const scale = (k: number): number => Number((k * step).toFixed(places));
    // Small values are where most bugs live; the full range still gets its share.
    const small = fc.integer({ min: low, max: Math.max(low, Math.min(high, low + 1000)) });
    return fc
      .oneof({ weight: 3, arbitrary: small }, { weight: 1, arbitrary: fc.integer({ min: low, max: high }) })
      .map(scale);
  }
  return fc.double({
    min,
    max,
    noNaN: true,
    noDefaultInfinity: true,
    minExcluded: exclusiveMin,
    maxExcluded: exclusiveMax,
  });
}

function stringArbitrary(schema: Schema): fc.Arbitrary<string> {
  const minLength = Number(schema['minLength'] ?? 0);
  const maxLength = Math.min(Number(schema['maxLength'] ?? 60), minLength + 200);
  switch (schema['format']) {
    case 'email':
      return fc.emailAddress();
    case 'date-time':
      return fc
        .date({
          min: new Date('1970-01-01T00:00:00Z'),
          max: new Date('2099-12-31T00:00:00Z'),
          noInvalidDate: true,
        })
        .map((d) => d.toISOString());
    case 'date':
      return fc
        .date({
          min: new Date('1970-01-01T00:00:00Z'),
          max: new Date('2099-12-31T00:00:00Z'),
          noInvalidDate: true,
        })
        .map((d) => d.toISOString().slice(0, 10));
    case 'uuid':
      return fc.uuid();
    case 'uri':
    case 'url':
      return fc.webUrl();
    default:
      break;
  }
  if (typeof schema['pattern'] === 'string') {
    try {
      return fc.stringMatching(new RegExp(schema['pattern'], 'u'));
    } catch {
      // Lookaheads and the like: random printable text, kept only when it matches (see `guarded`).
      return fc.string({
        unit: fc.constantFrom(...'abcdefghijkLMNOPQRSTUVWXYZ0123456789_-!'),
        minLength,
        maxLength,
      });
    }
  }
  // Any code point, control characters included: a hostile client sends them too.
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ minLength, maxLength, unit: 'grapheme' }) },
    { weight: 1, arbitrary: fc.string({ minLength, maxLength, unit: 'binary' }) },
  );
}

/** Replaces values the leaf schema rejects by a known-good one instead of filtering (which can spin forever). */
function guarded<T>(contract: Contract, schema: Schema, arbitrary: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  const validate = contract.compile(schema);
  const fallback = minimalValue(contract, schema);
  return arbitrary.map((value) => (validate(value) ? value : fallback));
}

/**
 * An arbitrary of values valid against `value` (a schema or a `$ref`), preferring
 * pooled values for members named like a pool.
 * @example fc.sample(arbitraryFor(options, { $ref: '#/components/schemas/ItemCreate' }), 10)
 */
export function arbitraryFor(
  options: GenerateOptions,
  value: unknown,
  name?: string,
  depth = 0,
): fc.Arbitrary<unknown> {
  const { contract, pools } = options;
  const schema = flatten(contract, value);
  const pooled = name === undefined ? undefined : pools.get(name);
  const plain = plainArbitrary(options, schema, depth);
  if (pooled === undefined || pooled.length === 0) return plain;
  const validate = contract.compile(schema);
  const usable = pooled.filter((v) => validate(v));
  if (usable.length === 0) return plain;
  return fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...usable) }, { weight: 1, arbitrary: plain });
}

function plainArbitrary(options: GenerateOptions, schema: Schema, depth: number): fc.Arbitrary<unknown> {
  const { contract } = options;
  if (schema['const'] !== undefined) return fc.constant(schema['const']);
  if (Array.isArray(schema['enum']) && schema['enum'].length > 0)
    return fc.constantFrom(...(schema['enum'] as unknown[]));
  const alternatives = (schema['oneOf'] ?? schema['anyOf']) as unknown[] | undefined;
  if (Array.isArray(alternatives) && alternatives.length > 0) {
    // oneOf members may overlap; the whole schema decides.
    return guarded(
      contract,
      schema,
      fc.oneof(...alternatives.map((alt) => arbitraryFor(options, alt, undefined, depth + 1))),
    );
  }
  const types = typesOf(schema);
  if (types.length > 1)
    return fc.oneof(...types.map((type) => plainArbitrary(options, { ...schema, type }, depth)));
  switch (types[0]) {
    case 'object':
      return objectArbitrary(options, schema, depth);
    case 'array': {
      const minLength = Number(schema['minItems'] ?? 0);
      const maxLength = Math.min(Number(schema['maxItems'] ?? minLength + 4), minLength + 4);
      return guarded(
        contract,
        schema,
        fc.array(arbitraryFor(options, schema['items'] ?? {}, undefined, depth + 1), {
          minLength,
          maxLength,
        }),
      );
    }
    case 'integer':
      return guarded(contract, schema, numberArbitrary(schema, true));
    case 'number':
      return guarded(contract, schema, numberArbitrary(schema, false));
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'string':
      return guarded(contract, schema, stringArbitrary(schema));
    default:
      return fc.constant(minimalValue(contract, schema));
  }
}

function objectArbitrary(options: GenerateOptions, schema: Schema, depth: number): fc.Arbitrary<unknown> {
  const properties = isObject(schema['properties']) ? schema['properties'] : {};
  const required = Array.isArray(schema['required']) ? schema['required'].map(String) : [];
  const names = depth > 4 ? required : Object.keys(properties);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const name of names) model[name] = arbitraryFor(options, properties[name] ?? {}, name, depth + 1);
  return guarded(
    options.contract,
    schema,
    fc.record(model, { requiredKeys: required.filter((n) => n in model) }),
  );
}
