/**
 * What a `multipart/form-data` request body may contain, read once from the
 * contract: which parts are files (`format: binary` or `contentMediaType`),
 * how many of each (`maxItems`, 1 for a single file), how large
 * (`x-max-file-size`), which types (`encoding.<part>.contentType`), and which
 * are text fields, with their schemas for coercion.
 */
import type { FilesConfig } from '../config.js';
import type { OpenApiDocument, OperationSpec } from '../contract/spec.js';

export const MULTIPART = 'multipart/form-data';

export interface FilePartRule {
  readonly name: string;
  readonly array: boolean;
  readonly maxItems: number;
  /** The smaller of the contract's `x-max-file-size` and UPLOAD_MAX_FILE_BYTES. */
  readonly maxBytes: number;
  /** Lower-case media ranges (`image/png`, `image/*`, `*\/*`); empty accepts anything. */
  readonly accept: readonly string[];
}

export interface FormPlan {
  readonly files: ReadonlyMap<string, FilePartRule>;
  /** Text fields and their schemas. */
  readonly fields: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
  /** At most this many file parts in one request. */
  readonly maxFiles: number;
  readonly maxFileBytes: number;
}

type Json = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Follows local `$ref`s in the bundled document. */
function deref(document: OpenApiDocument, value: unknown): Json {
  let node = value;
  for (let hops = 0; isObject(node) && typeof node['$ref'] === 'string' && hops < 32; hops += 1) {
    const ref = node['$ref'];
    node = ref
      .slice(2)
      .split('/')
      .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((current, token) => (isObject(current) ? current[token] : undefined), document);
  }
  return isObject(node) ? node : {};
}

function pointerValue(document: OpenApiDocument, pointer: string): unknown {
  return deref(document, { $ref: `#${pointer}` });
}

const isBinary = (schema: Json): boolean =>
  schema['format'] === 'binary' || typeof schema['contentMediaType'] === 'string';

/**
 * The plan for an operation's multipart body; undefined when it accepts none.
 * @example const plan = formPlan(spec.document, spec.byId.get('uploadFile')!, config.files);
 */
export function formPlan(
  document: OpenApiDocument,
  operation: OperationSpec,
  limits: Pick<FilesConfig, 'maxFileBytes' | 'maxFiles'>,
): FormPlan | undefined {
  const media = operation.requestBody?.content.get(MULTIPART);
  if (media?.schemaPointer === undefined) return undefined;
  const schema = deref(document, pointerValue(document, media.schemaPointer));
  const properties = isObject(schema['properties']) ? schema['properties'] : {};
  const files = new Map<string, FilePartRule>();
  const fields = new Map<string, Json>();
  for (const [name, value] of Object.entries(properties)) {
    const property = deref(document, value);
    const items = property['type'] === 'array' ? deref(document, property['items']) : undefined;
    const fileSchema =
      items !== undefined && isBinary(items) ? items : isBinary(property) ? property : undefined;
    if (fileSchema === undefined) {
      fields.set(name, property);
      continue;
    }
    const declaredMax = fileSchema['x-max-file-size'];
    const encoding = media.encoding?.[name];
    const contentType = isObject(encoding) ? encoding['contentType'] : undefined;
    files.set(name, {
      name,
      array: items !== undefined,
      maxItems:
        items === undefined
          ? 1
          : typeof property['maxItems'] === 'number'
            ? property['maxItems']
            : limits.maxFiles,
      maxBytes: Math.min(limits.maxFileBytes, typeof declaredMax === 'number' ? declaredMax : Infinity),
      accept:
        typeof contentType === 'string'
          ? contentType
              .split(',')
              .map((range) => range.trim().toLowerCase())
              .filter((range) => range !== '')
          : [],
    });
  }
  const declaredFiles = [...files.values()].reduce((sum, rule) => sum + rule.maxItems, 0);
  return {
    files,
    fields,
    maxFiles: Math.min(limits.maxFiles, declaredFiles),
    maxFileBytes: Math.max(0, ...[...files.values()].map((rule) => rule.maxBytes)),
  };
}

/** Whether a media type (no parameters) is within one of the ranges. */
export function accepts(accept: readonly string[], mediaType: string): boolean {
  if (accept.length === 0) return true;
  const [type] = mediaType.split('/');
  return accept.some((range) => range === '*/*' || range === mediaType || range === `${type}/*`);
}
