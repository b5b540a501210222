/**
 * Invalid variants of a valid input: each breaks the schema in one way (a
 * missing required member, a wrong type, a number out of range, an over-long
 * string, an extra property, a wrong or malformed body). Every variant is
 * proven invalid by Ajv before it is sent, so a 2xx answer is a real finding.
 */
import type { OperationSpec, ParameterSpec } from '../../src/contract/spec.js';
import { coerceParameter } from '../../src/contract/validation.js';
import type { Contract, Schema } from './document.js';
import { isObject } from './document.js';
import { flatten } from './arbitraries.js';
import type { Input } from './http.js';
import { isJsonType } from './http.js';

export interface Negative {
  readonly name: string;
  /** A changed input, serialised as usual... */
  readonly input?: Input;
  /** ...or raw bytes with a Content-Type of our choosing. */
  readonly raw?: {
    readonly contentType: string | undefined;
    readonly body: Buffer | undefined;
    readonly headers?: Readonly<Record<string, string>>;
  };
  /** Statuses expected instead of "any declared 4xx". */
  readonly statuses?: readonly number[];
}

const WRONG_VALUES: readonly unknown[] = ['not-a-number', 12345, true, [1], { nested: 1 }, null, 1.5];

function numberBounds(schema: Schema): { name: string; value: number }[] {
  const out: { name: string; value: number }[] = [];
  const step =
    typeof schema['multipleOf'] === 'number' ? schema['multipleOf'] : schema['type'] === 'integer' ? 1 : 0.5;
  if (typeof schema['minimum'] === 'number')
    out.push({ name: 'below minimum', value: schema['minimum'] - step });
  if (typeof schema['exclusiveMinimum'] === 'number')
    out.push({ name: 'at exclusiveMinimum', value: schema['exclusiveMinimum'] });
  if (typeof schema['maximum'] === 'number')
    out.push({ name: 'above maximum', value: schema['maximum'] + step });
  if (typeof schema['exclusiveMaximum'] === 'number')
    out.push({ name: 'at exclusiveMaximum', value: schema['exclusiveMaximum'] });
  return out;
}

/** Replacement values that each break `schema` in one named way. */
function breakers(contract: Contract, value: unknown): { name: string; value: unknown }[] {
  const schema = flatten(contract, value);
  const validate = contract.compile(schema);
  const out: { name: string; value: unknown }[] = [];
  const wrongType = WRONG_VALUES.find((candidate) => !validate(candidate));
  if (wrongType !== undefined) out.push({ name: 'wrong type', value: wrongType });
  const alternatives = ((schema['oneOf'] ?? schema['anyOf']) as unknown[] | undefined) ?? [schema];
  for (const alternative of alternatives) {
    const member = flatten(contract, alternative);
    const types = Array.isArray(member['type']) ? member['type'] : [member['type']];
    if (types.includes('integer') || types.includes('number')) out.push(...numberBounds(member));
    if (types.includes('string') && typeof member['maxLength'] === 'number') {
      out.push({ name: 'over-long string', value: 'a'.repeat(member['maxLength'] + 1) });
    }
    if (types.includes('string') && typeof member['minLength'] === 'number' && member['minLength'] > 0) {
      out.push({ name: 'too-short string', value: 'a'.repeat(member['minLength'] - 1) });
    }
    if (types.includes('array') && typeof member['maxItems'] === 'number') {
      out.push({ name: 'too many items', value: Array.from({ length: member['maxItems'] + 1 }, () => ({})) });
    }
  }
  return out.filter((breaker) => !validate(breaker.value));
}

function bodyNegatives(contract: Contract, operation: OperationSpec, base: Input): Negative[] {
  const out: Negative[] = [];
  const declared = operation.requestBody;
  if (declared === undefined) return out;
  const body = base.body;
  const media = body === undefined ? undefined : declared.content.get(body.mediaType);
  const with_ = (name: string, value: unknown): Negative => ({
    name,
    input: { ...base, body: { mediaType: body?.mediaType ?? '', value } },
  });
  if (body !== undefined && media?.schemaPointer !== undefined && isObject(body.value)) {
    const schema = flatten(contract, contract.at(media.schemaPointer));
    const validate = contract.validator(media.schemaPointer);
    const properties = isObject(schema['properties']) ? schema['properties'] : {};
    const required = Array.isArray(schema['required']) ? schema['required'].map(String) : [];
    const candidates: Negative[] = [];
    for (const name of required) {
      const copy: Record<string, unknown> = { ...body.value };
      delete copy[name];
      candidates.push(with_(`body: missing required "${name}"`, copy));
    }
    for (const [name, member] of Object.entries(properties)) {
      for (const breaker of breakers(contract, member)) {
        candidates.push(
          with_(`body: ${breaker.name} in "${name}"`, { ...body.value, [name]: breaker.value }),
        );
      }
    }
    if (schema['additionalProperties'] === false || schema['unevaluatedProperties'] === false) {
      candidates.push(with_('body: extra property', { ...body.value, unexpected_member: 1 }));
    }
    candidates.push(with_('body: not an object', 'just a string'));
    // Multipart and form fields are all text on the wire: only the shape-level variants survive serialisation.
    const textOnly = !isJsonType(body.mediaType);
    out.push(
      ...candidates.filter((c) => {
        const value = c.input?.body?.value;
        if (
          textOnly &&
          !c.name.includes('missing') &&
          !c.name.includes('extra') &&
          !c.name.includes('over-long')
        )
          return false;
        return !validate(value);
      }),
    );
  }
  const accepted = [...declared.content.keys()];
  const has415 = operation.responses.has(415);
  out.push({
    name: 'wrong content type (text/plain)',
    raw: { contentType: 'text/plain', body: Buffer.from('plain text') },
    ...(has415 ? { statuses: [415] } : {}),
  });
  if (accepted.some(isJsonType)) {
    out.push({
      name: 'malformed JSON',
      raw: { contentType: accepted.find(isJsonType), body: Buffer.from('{"unterminated": ') },
      ...(operation.responses.has(400) ? { statuses: [400] } : {}),
    });
  }
  out.push({
    name: 'corrupt gzip Content-Encoding',
    raw: {
      contentType: accepted[0],
      body: Buffer.from('not gzip at all'),
      headers: { 'content-encoding': 'gzip' },
    },
    ...(operation.responses.has(400) ? { statuses: [400] } : {}),
  });
  if (declared.required) out.push({ name: 'body missing', raw: { contentType: undefined, body: undefined } });
  return out;
}

function parameterNegatives(contract: Contract, base: Input, parameter: ParameterSpec): Negative[] {
  const out: Negative[] = [];
  const location = parameter.in;
  if (location === 'cookie') return out;
  const validate = contract.validator(parameter.schemaPointer);
  const replace = (name: string, value: unknown): Negative => ({
    name: `${location} ${parameter.name}: ${name}`,
    input: { ...base, [location]: { ...base[location], [parameter.name]: value } },
  });
  if (parameter.required && location !== 'path') {
    const copy = { ...base[location] };
    delete copy[parameter.name];
    out.push({ name: `${location} ${parameter.name}: missing`, input: { ...base, [location]: copy } });
  }
  for (const breaker of breakers(contract, contract.at(parameter.schemaPointer))) {
    // On the wire a parameter is text: keep only what still breaks the schema after the server coerces it.
    if (Array.isArray(breaker.value) || isObject(breaker.value) || breaker.value === null) continue;
    const wire = typeof breaker.value === 'string' ? breaker.value : JSON.stringify(breaker.value);
    if (location === 'path' && wire === '') continue;
    if (!validate(coerceParameter(wire, parameter.schema))) out.push(replace(breaker.name, wire));
  }
  return out;
}

/** All invalid variants of `base` for an operation. */
export function negativesFor(
  contract: Contract,
  operation: OperationSpec,
  base: Input,
  bodyLimit?: number,
): Negative[] {
  const out = [...bodyNegatives(contract, operation, base)];
  for (const parameter of operation.parameters) out.push(...parameterNegatives(contract, base, parameter));
  const firstType = [...(operation.requestBody?.content.keys() ?? [])][0] ?? 'application/json';
  // Multipart bodies stream under their own per-part limits (x-max-file-size), not the body limit.
  if (bodyLimit !== undefined && operation.requestBody !== undefined && firstType !== 'multipart/form-data') {
    const type = firstType;
    const filler = isJsonType(type)
      ? `{"padding":"${'x'.repeat(bodyLimit + 1)}"}`
      : 'x'.repeat(bodyLimit + 1);
    out.push({
      name: `body over the ${bodyLimit}-byte limit`,
      raw: {
        contentType: type,
        body: Buffer.from(filler),
      },
      ...(operation.responses.has(413) ? { statuses: [413] } : {}),
    });
  }
  return out;
}
