/** Builds multipart/form-data bodies by hand (so tests control every byte) and sends them. */
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { OpenApiDocument, OperationSpec } from '../../src/contract/spec.js';
import { insertFiles } from '../../src/db/repos/files.repo.js';
import { formPlan } from '../../src/files/form-plan.js';
import { newStorageKey } from '../../src/files/storage.js';
import { sharedDatabase } from './app.js';
import type { TestApp } from './app.js';

export interface Part {
  readonly name: string;
  /** Present: a file part. */
  readonly filename?: string;
  readonly contentType?: string;
  readonly data: string | Buffer;
}

export interface Form {
  readonly body: Buffer;
  readonly contentType: string;
}

/** Encodes parts as multipart/form-data (filenames sent as raw UTF-8, as browsers do). */
export function multipart(
  parts: readonly Part[],
  boundary = `----test${randomBytes(8).toString('hex')}`,
): Form {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) {
      // Names a quoted-string cannot carry go as RFC 5987 `filename*`, which busboy decodes.
      head +=
        /^[\x20-\x7e]*$/.test(part.filename) && !/["\\]/.test(part.filename)
          ? `; filename="${part.filename}"`
          : `; filename*=utf-8''${encodeURIComponent(part.filename)}`;
    }
    head += '\r\n';
    if (part.contentType !== undefined) head += `Content-Type: ${part.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`, 'utf8'), Buffer.from(part.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** A text file part named `file`. */
/**
 * `size` random bytes behind a plain-text start. Bytes that are random from
 * the first one now and then begin with some format's magic number (many are
 * two bytes), and the upload's type sniffing then refuses them with 415: a
 * test that fails once in a few thousand runs.
 */
export function unsniffableBytes(size: number): Buffer {
  const start = Buffer.from('not any file format: ');
  return Buffer.concat([start, randomBytes(Math.max(0, size - start.length))]).subarray(0, size);
}

export const textFile = (data: string, filename = 'hello.txt', name = 'file'): Part => ({
  name,
  filename,
  contentType: 'text/plain',
  data,
});

/** POSTs a form. */
export function postForm(
  t: TestApp,
  path: string,
  form: Form,
  headers: Record<string, string> = {},
): Promise<Response> {
  return t.fetch(path, {
    method: 'POST',
    headers: { 'content-type': form.contentType, ...headers },
    body: form.body,
  });
}

/** The smallest valid PNG: 1×1, transparent. */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

/** The first bytes of a Windows executable (MZ header + PE signature), enough for sniffing. */
export function windowsExecutable(): Buffer {
  const exe = Buffer.alloc(512);
  exe.write('MZ', 0, 'latin1');
  exe.writeUInt32LE(0x80, 0x3c);
  exe.write('PE\0\0', 0x80, 'latin1');
  return exe;
}

export interface RawAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * Sends `head` as the start of a body, then either ends the request with `tail`
 * or (tail undefined) waits `abortAfterMs` and destroys the socket mid-body.
 * Resolves with the answer, or undefined when the connection was cut.
 */
export function rawUpload(
  url: string,
  path: string,
  options: {
    headers: Record<string, string>;
    head: Buffer;
    tail?: Buffer;
    abortAfterMs?: number;
    beforeAbort?: () => Promise<void>;
  },
): Promise<RawAnswer | undefined> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        });
      });
      res.on('error', () => resolve(undefined));
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (options.tail === undefined) resolve(undefined);
      else reject(error);
    });
    req.write(options.head);
    if (options.tail !== undefined) {
      req.end(options.tail);
      return;
    }
    void (async () => {
      await options.beforeAbort?.();
      await new Promise((done) => setTimeout(done, options.abortAfterMs ?? 0));
      req.destroy();
      resolve(undefined);
    })();
  });
}

/**
 * A form from a media type's example: values of file parts (per the contract)
 * become text files, arrays become one part per entry, the rest text fields.
 */
export function exampleForm(document: OpenApiDocument, operation: OperationSpec, example: unknown): Form {
  const plan = formPlan(document, operation, { maxFileBytes: Infinity, maxFiles: Infinity });
  const parts: Part[] = [];
  for (const [name, value] of Object.entries(example as Record<string, unknown>)) {
    const values = Array.isArray(value) ? (value as unknown[]) : [value];
    values.forEach((entry, index) => {
      parts.push(
        plan?.files.has(name) === true
          ? textFile(String(entry), `example-${index + 1}.txt`, name)
          : { name, data: String(entry) },
      );
    });
  }
  return multipart(parts);
}

/** Stores a small text file for `ownerId` straight through the app's storage and repo; returns its id. */
export async function seedFile(t: TestApp, ownerId: number, data = 'Hello, world!'): Promise<number> {
  const key = newStorageKey();
  await t.app.deps.files.storage.write(key, Readable.from([Buffer.from(data)]));
  const { db } = await sharedDatabase();
  const [row] = await db.transaction().execute((trx) =>
    insertFiles(trx, [
      {
        owner_id: ownerId,
        storage_key: key,
        filename: 'hello.txt',
        content_type: 'text/plain',
        declared_content_type: 'text/plain',
        size: Buffer.byteLength(data),
        sha256: createHash('sha256').update(data).digest('hex'),
      },
    ]),
  );
  if (row === undefined) throw new Error('no file row');
  return row.id;
}
