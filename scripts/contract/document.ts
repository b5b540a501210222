/**
 * The contract as the QA runner sees it: the bundled document (from a file or
 * fetched from the target's `/openapi.json`), indexed by the same code the
 * server uses, plus a JSON Pointer resolver and one Ajv 2020 instance that
 * checks responses independently of the server's own validator.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { indexDocument } from '../../src/contract/spec.js';
import { addExactMultipleOf } from '../../src/contract/validation.js';
import type { OpenApiDocument, OperationSpec, Spec } from '../../src/contract/spec.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule.default;

export type Schema = Readonly<Record<string, unknown>>;

export interface Contract {
  readonly spec: Spec;
  readonly document: OpenApiDocument;
  /** Follows internal `$ref`s from a value to the object it names. */
  deref(value: unknown): Schema;
  /** The node at a JSON Pointer into the document. */
  at(pointer: string): unknown;
  /** A validator for the schema at a pointer, compiled once. */
  validator(pointer: string): ValidateFunction;
  /** A validator for an inline schema that may `$ref` into the document. */
  compile(schema: Schema): ValidateFunction;
}

const DOCUMENT_ID = 'contract';

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every `x-` key in the document, so strict Ajv accepts extensions inside schemas. */
function extensionKeywords(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) extensionKeywords(item, found);
  else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      if (key.startsWith('x-')) found.add(key);
      extensionKeywords(child, found);
    }
  }
  return found;
}

/** Rewrites `#/...` refs so they resolve inside the Ajv copy of the document. */
function rebase(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (!isObject(schema)) return schema;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    copy[key] =
      key === '$ref' && typeof value === 'string' && value.startsWith('#')
        ? `${DOCUMENT_ID}${value}`
        : rebase(value);
  }
  return copy;
}

/** Indexes a parsed document and prepares its validators. */
export function contractOf(document: OpenApiDocument): Contract {
  const spec = indexDocument(document);
  const at = (pointer: string): unknown =>
    pointer
      .replace(/^#?\//, '')
      .split('/')
      .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>(
        (node, token) =>
          isObject(node) || Array.isArray(node) ? (node as Record<string, unknown>)[token] : undefined,
        document,
      );
  const deref = (value: unknown): Schema => {
    let node = value;
    for (let hops = 0; isObject(node) && typeof node['$ref'] === 'string' && hops < 32; hops += 1) {
      node = at(node['$ref']);
    }
    return isObject(node) ? node : {};
  };
  // Independent of the server's Ajv: standard keywords, ajv-formats, and a float tolerance for multipleOf.
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: true });
  // The server's exact decimal multipleOf, so runner and server agree on money amounts.
  addExactMultipleOf(ajv);
  addFormats(ajv);
  for (const format of ['int32', 'int64', 'float', 'double', 'password', 'binary', 'byte'])
    ajv.addFormat(format, true);
  ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs', ...extensionKeywords(document)]);
  ajv.addSchema(
    { components: document.components ?? {}, paths: document.paths ?? {} },
    DOCUMENT_ID,
    undefined,
    false,
  );
  const cache = new Map<string, ValidateFunction>();
  return {
    spec,
    document,
    deref,
    at,
    validator(pointer) {
      let validate = cache.get(pointer);
      if (validate === undefined) {
        validate = ajv.compile({ $ref: `${DOCUMENT_ID}#${pointer}` });
        cache.set(pointer, validate);
      }
      return validate;
    },
    compile(schema) {
      const key = JSON.stringify(schema);
      let validate = cache.get(key);
      if (validate === undefined) {
        validate = ajv.compile(rebase(schema) as Schema);
        cache.set(key, validate);
      }
      return validate;
    },
  };
}

/** Reads the contract from a file, or from `<base>/openapi.json` when `source` is a URL. */
export async function loadContract(source: string): Promise<Contract> {
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source);
    if (!res.ok) throw new Error(`GET ${source} answered ${res.status}`);
    return contractOf((await res.json()) as OpenApiDocument);
  }
  return contractOf(JSON.parse(readFileSync(source, 'utf8')) as OpenApiDocument);
}

/** Whether an operation is a protocol upgrade (WebSocket), which plain HTTP cases cannot exercise. */
export function isUpgrade(operation: OperationSpec): boolean {
  return operation.responses.has(101);
}
