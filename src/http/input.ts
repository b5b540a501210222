/**
 * The handler's input: parameters coerced to their schema types (defaults
 * filled in), the body, and every violation of the contract collected in one
 * place (Ajv on parameters and body, plus the NUL character scan), so a
 * request that breaks the contract is one 422 (listing the first 20).
 */
import type { OperationSpec } from '../contract/spec.js';
import { Violations } from '../contract/errors.js';
import { addNulViolations } from '../contract/json-shape.js';
import { addAjvErrors, coerceParameter } from '../contract/validation.js';
import type { Validation } from '../contract/validation.js';
import type { ParsedBody } from './body.js';
import type { Exchange } from './exchange.js';

export type ParameterValues = Record<'path' | 'query' | 'header' | 'cookie', Record<string, unknown>>;

export interface CheckedInput {
  readonly values: ParameterValues;
  /** Every violation found: the first few listed, the rest counted. */
  readonly violations: Violations;
}

function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const name = pair.slice(0, at).trim();
    const value = pair
      .slice(at + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
    try {
      cookies[name] ??= decodeURIComponent(value);
    } catch {
      cookies[name] ??= value;
    }
  }
  return cookies;
}

/** Whether a record has no own enumerable key (without making the array of its keys). */
function isEmpty(record: Record<string, unknown>): boolean {
  for (const key in record) if (Object.hasOwn(record, key)) return false;
  return true;
}

/** The values of a location that declares no parameters. */
const NONE: Record<string, unknown> = Object.freeze({});

/**
 * Coerces and validates an operation's parameters and body; returns the
 * values and every error found (empty when the input keeps the contract).
 */
export function checkInput(
  operation: OperationSpec,
  validation: Validation,
  exchange: Exchange,
  body: ParsedBody | undefined,
): CheckedInput {
  const values: ParameterValues = { path: NONE, query: NONE, header: NONE, cookie: NONE };
  const violations = new Violations();
  const validators = validation.operation(operation.operationId);
  let cookies: Record<string, string> | undefined;
  for (const { location, parameters, keys, validate } of validators.parameters) {
    const target: Record<string, unknown> = {};
    for (let i = 0; i < parameters.length; i += 1) {
      const parameter = parameters[i] as (typeof parameters)[number];
      const key = keys[i] as string;
      let raw: string | string[] | undefined;
      if (location === 'query') {
        const all = exchange.query.getAll(key);
        raw = all.length === 0 ? undefined : all.length === 1 ? all[0] : all;
      } else if (location === 'path') {
        raw = exchange.params[key];
      } else if (location === 'header') {
        raw = exchange.req.headers[key];
      } else {
        cookies ??= parseCookies(exchange.req.headers.cookie);
        raw = cookies[key];
      }
      if (raw !== undefined) target[parameter.name] = coerceParameter(raw, parameter.schema);
      else if (parameter.schema['default'] !== undefined)
        target[parameter.name] = parameter.schema['default'];
    }
    if (!validate(target)) addAjvErrors(violations, location, validate.errors);
    values[location] = target;
  }
  if (body !== undefined) {
    const validate = validators.bodies.get(body.mediaType);
    if (validate !== undefined && !validate(body.validationValue ?? body.value))
      addAjvErrors(violations, 'body', validate.errors);
    if (body.mayHoldNul !== false) addNulViolations(violations, 'body', body.value);
  }
  for (const { location } of validators.parameters) {
    const given = values[location];
    if (!isEmpty(given)) addNulViolations(violations, location, given);
  }
  return { values, violations };
}
