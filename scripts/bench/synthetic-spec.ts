/**
 * Synthetic OpenAPI 3.1 contracts of any size, for checking that the cost of a
 * request does not grow with the number of operations. Operations alternate:
 *   even i: GET /r{i}/items/{id}  templated, integer path parameter + query parameter
 *   odd i:  GET /s{i}/items       static, query parameter only
 * Each has its own inline 200 JSON response schema (no shared $ref), so every
 * operation compiles its own validators, as distinct operations in a real
 * contract would.
 */
import type { OpenApiDocument } from '../../src/contract/spec.js';
import type { AnyHandler } from '../../src/http/backend.js';

const limitParameter = {
  name: 'limit',
  in: 'query',
  required: false,
  schema: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
};

function response(i: number, withId: boolean): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    op: { type: 'integer', const: i },
    limit: { type: 'integer', minimum: 1, maximum: 100 },
  };
  if (withId) properties['id'] = { type: 'integer', minimum: 0 };
  return {
    '200': {
      description: 'OK',
      content: {
        'application/json': {
          schema: {
            type: 'object',
            required: Object.keys(properties),
            properties,
            additionalProperties: false,
          },
        },
      },
    },
  };
}

const isTemplated = (i: number): boolean => i % 2 === 0;

export function syntheticDocument(operations: number): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (let i = 0; i < operations; i += 1) {
    if (isTemplated(i)) {
      paths[`/r${i}/items/{id}`] = {
        get: {
          operationId: `getItem${i}`,
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 0 } },
            limitParameter,
          ],
          responses: response(i, true),
        },
      };
    } else {
      paths[`/s${i}/items`] = {
        get: { operationId: `listItems${i}`, parameters: [limitParameter], responses: response(i, false) },
      };
    }
  }
  return { openapi: '3.1.0', info: { title: `synthetic ${operations}`, version: '1' }, paths };
}

/** One generic handler per operation: echoes the coerced parameters in the declared shape. */
export function syntheticHandlers(operations: number): Record<string, AnyHandler> {
  const handlers: Record<string, AnyHandler> = {};
  for (let i = 0; i < operations; i += 1) {
    const templated = isTemplated(i);
    handlers[templated ? `getItem${i}` : `listItems${i}`] = (input: {
      path: { id?: number };
      query: { limit: number };
    }) =>
      Promise.resolve({
        status: 200,
        body: templated
          ? { op: i, id: input.path.id, limit: input.query.limit }
          : { op: i, limit: input.query.limit },
      });
  }
  return handlers;
}

/**
 * A valid request to the last declared templated operation: the worst case
 * for a router that tries operations in declaration order.
 */
export function worstCasePath(operations: number): string {
  let last = operations - 1;
  while (last > 0 && !isTemplated(last)) last -= 1;
  return `/r${last}/items/42?limit=7`;
}
