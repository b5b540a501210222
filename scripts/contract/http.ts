/**
 * Requests as the runner builds them, how they go on the wire (JSON, forms,
 * multipart, raw bytes) and how a failing one is reproduced as a curl command.
 */
import { randomBytes } from 'node:crypto';
import type { OperationSpec } from '../../src/contract/spec.js';
import type { Contract } from './document.js';
import { isObject } from './document.js';
import { flatten } from './arbitraries.js';

export interface WireRequest {
  readonly method: string;
  /** Path and query, e.g. `/items?limit=10`. */
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer;
}

export interface WireResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
  readonly ms: number;
}

/** Parameter values and a body for one operation, before serialisation. */
export interface Input {
  readonly path: Record<string, unknown>;
  readonly query: Record<string, unknown>;
  readonly header: Record<string, unknown>;
  readonly body?: { readonly mediaType: string; readonly value: unknown } | undefined;
}

export const isJsonType = (type: string): boolean => type === 'application/json' || type.endsWith('+json');

/** The media type of a Content-Type header, lower case, without parameters. */
export function mediaTypeOf(header: string | null | undefined): string | undefined {
  const type = header?.split(';', 1)[0]?.trim().toLowerCase();
  return type === undefined || type === '' ? undefined : type;
}

const scalar = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** The path template with its parameters filled in (percent-encoded). */
export function fillPath(template: string, values: Record<string, unknown>): string {
  return template.replace(/\{([^{}]+)\}/g, (_m, name: string) =>
    encodeURIComponent(values[name] === undefined ? '' : scalar(values[name])),
  );
}

function queryString(values: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) params.append(name, scalar(one));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** Real bytes for file types a server may sniff (file-type), so an upload of a declared image is one. */
const SAMPLE_FILES: Readonly<Record<string, { extension: string; bytes: Buffer }>> = {
  'image/png': {
    extension: 'png',
    bytes: Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
      'base64',
    ),
  },
  'image/gif': {
    extension: 'gif',
    bytes: Buffer.from('R0lGODlhAQABAAAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64'),
  },
  'application/pdf': {
    extension: 'pdf',
    bytes: Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n'),
  },
};

/** Whether a (flattened) schema describes file bytes rather than a text field. */
function isFile(contract: Contract, value: unknown): boolean {
  const schema = flatten(contract, value);
  return (
    schema['format'] === 'binary' ||
    schema['contentMediaType'] !== undefined ||
    schema['contentEncoding'] === 'binary'
  );
}

/** Multipart body: file-like members become file parts (arrays of them, several parts with one name). */
function multipart(
  contract: Contract,
  schemaPointer: string | undefined,
  encoding: Readonly<Record<string, unknown>> | undefined,
  value: unknown,
): { body: Buffer; contentType: string } {
  const boundary = `----contract${randomBytes(8).toString('hex')}`;
  const schema = schemaPointer === undefined ? {} : flatten(contract, contract.at(schemaPointer));
  const properties = isObject(schema['properties']) ? schema['properties'] : {};
  const chunks: Buffer[] = [];
  const part = (headers: string, content: Buffer): void => {
    chunks.push(Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`), content, Buffer.from('\r\n'));
  };
  let fileIndex = 0;
  for (const [name, member] of Object.entries(isObject(value) ? value : {})) {
    const memberSchema = flatten(contract, properties[name] ?? {});
    const items = memberSchema['type'] === 'array' ? (Array.isArray(member) ? member : [member]) : [member];
    const fileLike =
      memberSchema['type'] === 'array'
        ? isFile(contract, memberSchema['items'])
        : isFile(contract, memberSchema);
    const memberEncoding = encoding?.[name];
    const declared = isObject(memberEncoding) ? memberEncoding['contentType'] : undefined;
    const contentType =
      typeof declared === 'string' ? (declared.split(',')[0]?.trim() ?? 'text/plain') : 'text/plain';
    for (const item of items) {
      if (fileLike) {
        fileIndex += 1;
        const sample = SAMPLE_FILES[contentType];
        part(
          `Content-Disposition: form-data; name="${name}"; filename="contract-${fileIndex}.${sample?.extension ?? 'txt'}"\r\nContent-Type: ${contentType}`,
          sample?.bytes ?? Buffer.from(typeof item === 'string' ? item : JSON.stringify(item)),
        );
      } else {
        part(`Content-Disposition: form-data; name="${name}"`, Buffer.from(scalar(item)));
      }
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Serialises a body for its media type; `undefined` when the media type has no writer here. */
export function serialiseBody(
  contract: Contract,
  operation: OperationSpec,
  mediaType: string,
  value: unknown,
): { body: Buffer; contentType: string } | undefined {
  const media = operation.requestBody?.content.get(mediaType);
  if (isJsonType(mediaType)) return { body: Buffer.from(JSON.stringify(value)), contentType: mediaType };
  if (mediaType === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams();
    for (const [name, member] of Object.entries(isObject(value) ? value : {})) {
      for (const one of Array.isArray(member) ? member : [member]) form.append(name, scalar(one));
    }
    return { body: Buffer.from(form.toString()), contentType: mediaType };
  }
  if (mediaType === 'multipart/form-data')
    return multipart(contract, media?.schemaPointer, media?.encoding, value);
  if (mediaType.startsWith('text/') || mediaType === 'application/octet-stream') {
    return {
      body: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
      contentType: mediaType,
    };
  }
  return undefined;
}

/** Builds the wire request for an operation's input; `auth` headers are added by the caller. */
export function toWire(
  contract: Contract,
  operation: OperationSpec,
  input: Input,
  auth: Record<string, string>,
  authQuery: Record<string, string> = {},
): WireRequest {
  const headers: Record<string, string> = { accept: '*/*', ...auth };
  for (const [name, value] of Object.entries(input.header))
    if (value !== undefined) headers[name] = scalar(value);
  let body: Buffer | undefined;
  if (input.body !== undefined) {
    const wire = serialiseBody(contract, operation, input.body.mediaType, input.body.value);
    if (wire !== undefined) {
      body = wire.body;
      headers['content-type'] = wire.contentType;
    }
  }
  return {
    method: operation.method.toUpperCase(),
    target: fillPath(operation.path, input.path) + queryString({ ...input.query, ...authQuery }),
    headers,
    ...(body === undefined ? {} : { body }),
  };
}

/** Sends a request; network errors become status 0 so that the runner reports them as failures. */
export async function send(baseUrl: string, request: WireRequest, timeoutMs = 30_000): Promise<WireResponse> {
  const started = performance.now();
  try {
    const res = await fetch(new URL(request.target, baseUrl), {
      method: request.method,
      headers: request.headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body, ms: performance.now() - started };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      status: 0,
      headers: new Headers({ 'x-contract-error': message }),
      body: Buffer.alloc(0),
      ms: performance.now() - started,
    };
  }
}

const shellQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/** The request as a curl command line that reproduces it. */
export function toCurl(baseUrl: string, request: WireRequest): string {
  const parts = ['curl', '-i', '-X', request.method, shellQuote(new URL(request.target, baseUrl).toString())];
  for (const [name, value] of Object.entries(request.headers))
    parts.push('-H', shellQuote(`${name}: ${value}`));
  if (request.body !== undefined) {
    const text = request.body.toString('utf8');
    // Bytes that do not survive as UTF-8 text (or NULs, which a shell cannot pass) go through printf.
    if (Buffer.from(text, 'utf8').equals(request.body) && !text.includes('\0')) {
      parts.push('--data-binary', shellQuote(text));
    } else {
      const escaped = [...request.body].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
      parts.unshift(`printf '%b' ${shellQuote(escaped)} |`);
      parts.push('--data-binary', '@-');
    }
  }
  return parts.join(' ');
}
