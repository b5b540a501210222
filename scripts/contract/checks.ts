/**
 * What every response must satisfy, and what each kind of case expects on top.
 * A check returns messages; an empty list means the response passed.
 */
import type { OperationSpec } from '../../src/contract/spec.js';
import { coerceParameter } from '../../src/contract/validation.js';
import type { Contract } from './document.js';
import { isJsonType, mediaTypeOf } from './http.js';
import type { WireResponse } from './http.js';
import { coveringMediaType } from '../../src/contract/spec.js';

/** What a case expects beyond the checks every response gets. */
export type Expectation =
  /** Schema-valid input: any declared answer but a server error or a refusal of the input's form. */
  | { readonly kind: 'valid'; readonly withCredentials: boolean }
  /** A follow-up the contract promises will work (a `links` step, fetching a `Location`). */
  | { readonly kind: 'success' }
  /** Input that breaks the schema: some declared 4xx. */
  | { readonly kind: 'rejected' }
  /** Exactly these statuses. */
  | { readonly kind: 'status'; readonly statuses: readonly number[] }
  /** An undeclared method: 405 with an `Allow` listing exactly the methods the path answers. */
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly string[] }
  /** OPTIONS: 204 with that same `Allow`. */
  | { readonly kind: 'options'; readonly allow: readonly string[] };

/** Statuses that mean "your request's form is wrong": never right for a well-formed valid case. */
const FORM_REFUSALS = [400, 405, 406, 411, 413, 414, 415, 431];

function describeStatus(res: WireResponse): string {
  if (res.status === 0) return `no response (${res.headers.get('x-contract-error') ?? 'network error'})`;
  return `status ${res.status}`;
}

/** The declared-response checks: status, media type, body schema, headers. */
export function checkDeclared(
  contract: Contract,
  operation: OperationSpec,
  res: WireResponse,
  method: string,
): string[] {
  const problems: string[] = [];
  if (res.status === 0) return [describeStatus(res)];
  if (res.status >= 500)
    problems.push(`server error ${res.status}: ${res.body.toString('utf8').slice(0, 300)}`);
  const declared = operation.responses.get(res.status);
  if (declared === undefined) {
    problems.push(
      `status ${res.status} is not declared for ${operation.operationId} (declared: ${[...operation.responses.keys()].join(', ')})`,
    );
    return problems;
  }
  const mediaType = mediaTypeOf(res.headers.get('content-type'));
  const hasBody = res.body.length > 0;
  if (declared.content.size === 0) {
    if (hasBody)
      problems.push(
        `status ${res.status} declares no body but one was sent (${mediaType ?? 'no Content-Type'})`,
      );
  } else if (method !== 'HEAD') {
    // A declared range (`*/*` for downloads) covers the concrete type sent.
    const covering = mediaType === undefined ? undefined : coveringMediaType(declared.content, mediaType);
    const media = covering === undefined ? undefined : declared.content.get(covering);
    if (mediaType === undefined || media === undefined) {
      problems.push(
        `Content-Type ${mediaType ?? '(none)'} is not declared for ${res.status} (declared: ${[...declared.content.keys()].join(', ')})`,
      );
    } else if (media.schemaPointer !== undefined && isJsonType(mediaType)) {
      let body: unknown;
      try {
        body = JSON.parse(res.body.toString('utf8'));
      } catch {
        problems.push(`body is not valid JSON although Content-Type is ${mediaType}`);
        return problems;
      }
      const validate = contract.validator(media.schemaPointer);
      if (!validate(body)) {
        const errors = (validate.errors ?? [])
          .slice(0, 5)
          .map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
        problems.push(`body does not match the schema for ${res.status} ${mediaType}: ${errors.join('; ')}`);
      }
    } else if (media.schemaPointer !== undefined && mediaType.startsWith('text/')) {
      const validate = contract.validator(media.schemaPointer);
      if (!validate(res.body.toString('utf8')))
        problems.push(`text body does not match the schema for ${res.status}`);
    }
    // Binary bodies (images, octet-stream downloads) have no JSON schema to check; their headers are checked below.
  }
  for (const [name, header] of declared.headers) {
    const value = res.headers.get(name);
    if (value === null) {
      if (header.required) problems.push(`declared header ${name} is missing from ${res.status}`);
      continue;
    }
    const validate = contract.validator(header.schemaPointer);
    if (!validate(coerceParameter(value, header.schema)))
      problems.push(`header ${name}: ${JSON.stringify(value)} does not match its schema`);
  }
  return problems;
}

/** The expectation of the case kind. */
export function checkExpectation(expectation: Expectation, res: WireResponse): string[] {
  const status = res.status;
  if (status === 0) return [];
  switch (expectation.kind) {
    case 'valid':
      if (FORM_REFUSALS.includes(status)) return [`a schema-valid request was refused with ${status}`];
      if (expectation.withCredentials && status === 401) return ['valid credentials were refused with 401'];
      return [];
    case 'success':
      return status >= 200 && status < 300
        ? []
        : [`expected a 2xx, got ${status}: ${res.body.toString('utf8').slice(0, 200)}`];
    case 'rejected':
      return status >= 400 && status < 500
        ? []
        : [`input that breaks the schema was answered ${status}, not a 4xx`];
    case 'status':
      return expectation.statuses.includes(status)
        ? []
        : [`expected ${expectation.statuses.join(' or ')}, got ${status}`];
    case 'method-not-allowed':
    case 'options': {
      const wanted = expectation.kind === 'options' ? 204 : 405;
      if (status !== wanted)
        return [
          expectation.kind === 'options'
            ? `OPTIONS was answered ${status}, not 204`
            : `an undeclared method was answered ${status}, not 405`,
        ];
      const allow = (res.headers.get('allow') ?? '')
        .split(',')
        .map((m) => m.trim().toUpperCase())
        .filter((m) => m !== '')
        .sort();
      const expected = [...expectation.allow].sort();
      return allow.join(',') === expected.join(',')
        ? []
        : [`Allow is "${allow.join(', ')}", the path answers "${expected.join(', ')}"`];
    }
  }
}
