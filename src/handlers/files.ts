/**
 * Handlers for the `files` tag. By the time an upload handler runs, every
 * part is already durably stored (http/body.ts → files/multipart.ts); the
 * handler commits the metadata rows in one transaction and only then keeps
 * the parts. If it fails before that, the HTTP layer removes them.
 */
import type { components } from '../../generated/openapi.js';
import type { ApiError } from '../contract/errors.js';
import type { Fail, Input, Reply, StoredPart, UploadedForm } from '../contract/types.js';
import * as files from '../db/repos/files.repo.js';
import type { FileRow } from '../db/schema.js';
import type { Deps } from '../deps.js';
import { contentDisposition } from '../files/filename.js';
import { byteRange, etagOf, noneMatch } from '../files/range.js';
import { activityJob, enqueueAll } from '../jobs/index.js';
import { caller } from './caller.js';
import { byId, listReply, readPaging } from './paging.js';

type StoredFile = components['schemas']['StoredFile'];

export function fileRowToApi(row: FileRow): StoredFile {
  return {
    id: row.id,
    owner_id: row.owner_id,
    filename: row.filename,
    content_type: row.content_type,
    declared_content_type: row.declared_content_type,
    size: row.size,
    sha256: row.sha256,
    description: row.description,
    created_at: row.created_at.toISOString(),
  };
}

/**
 * Commits the metadata of stored parts in one transaction, then keeps the
 * parts (so the HTTP layer does not remove them).
 */
async function commitUpload(
  deps: Deps,
  ownerId: number,
  form: UploadedForm<unknown>,
  parts: readonly StoredPart[],
  description: string | null,
): Promise<FileRow[]> {
  const rows = await deps.db.transaction().execute(async (trx) => {
    const inserted = await files.insertFiles(
      trx,
      parts.map((part) => ({
        owner_id: ownerId,
        storage_key: part.key,
        filename: part.filename,
        content_type: part.contentType,
        declared_content_type: part.declaredType,
        size: part.size,
        sha256: part.sha256,
        description,
      })),
    );
    // One `file_uploaded` activity record per file, enqueued with the rows (one statement).
    await enqueueAll(
      trx,
      inserted.map((row) =>
        activityJob(ownerId, 'file_uploaded', { file_id: row.id, filename: row.filename, size: row.size }),
      ),
    );
    return inserted;
  });
  form.keep();
  return rows;
}

export async function uploadFile(input: Input<'uploadFile'>, deps: Deps): Promise<Reply<'uploadFile'>> {
  const me = caller(input.principal);
  const [row] = await commitUpload(
    deps,
    me.id,
    input.body,
    input.body.files,
    input.body.fields.description ?? null,
  );
  if (row === undefined) throw new Error('upload committed no row');
  return { status: 201, headers: { Location: `/download/${row.id}` }, body: fileRowToApi(row) };
}

export async function uploadFiles(input: Input<'uploadFiles'>, deps: Deps): Promise<Reply<'uploadFiles'>> {
  const me = caller(input.principal);
  const rows = await commitUpload(deps, me.id, input.body, input.body.files, null);
  return { status: 201, body: { uploaded_files: rows.map(fileRowToApi) } };
}

export async function listFiles(input: Input<'listFiles'>, deps: Deps): Promise<Reply<'listFiles'>> {
  const me = caller(input.principal);
  const scope = { path: '/files', filters: {} };
  const paging = readPaging(deps.config, scope, input.query, byId);
  const page = await files.listFiles(deps.db, { ...paging, ownerId: me.id });
  return listReply(deps.config, scope, paging, page, byId, fileRowToApi);
}

/** The file, if the caller owns it or is an admin; 404 otherwise (as if it did not exist). */
async function ownFile(input: Input<'downloadFile'> | Input<'deleteFile'>, deps: Deps): Promise<FileRow> {
  const me = caller(input.principal);
  const row = await files.findFile(deps.db, input.path.file_id);
  if (row === undefined || (row.owner_id !== me.id && !me.admin)) throw fileNotFound(input.fail);
  return row;
}

const fileNotFound = (fail: Fail<'downloadFile' | 'deleteFile'>): ApiError =>
  fail(404, 'not-found', 'File not found');

export async function downloadFile(input: Input<'downloadFile'>, deps: Deps): Promise<Reply<'downloadFile'>> {
  const row = await ownFile(input, deps);
  const etag = etagOf(row.sha256);
  const cache = { ETag: etag, 'Cache-Control': 'private, no-cache' } as const;
  if (noneMatch(input.header['If-None-Match'], etag)) return { status: 304, headers: cache };

  const ifRange = input.header['If-Range'];
  const answer =
    ifRange === undefined || ifRange.trim() === etag
      ? byteRange(input.header.Range, row.size)
      : ({ kind: 'whole' } as const);
  if (answer.kind === 'unsatisfiable') {
    throw input.fail(
      416,
      'range-not-satisfiable',
      `The file has ${row.size} bytes; the range starts beyond them.`,
      {
        headers: { 'Content-Range': `bytes */${row.size}` },
      },
    );
  }
  const storage = deps.files.storage;
  const headers = {
    ...cache,
    'Content-Disposition': contentDisposition(row.filename),
    'X-Content-Type-Options': 'nosniff',
    'Accept-Ranges': 'bytes',
  } as const;
  if (answer.kind === 'partial') {
    const { start, end } = answer.range;
    const length = end - start + 1;
    return {
      status: 206,
      contentType: row.content_type,
      headers: {
        ...headers,
        'Content-Length': String(length),
        'Content-Range': `bytes ${start}-${end}/${row.size}`,
      },
      body: { binary: true, length, open: () => storage.read(row.storage_key, answer.range) },
    };
  }
  return {
    status: 200,
    contentType: row.content_type,
    headers: { ...headers, 'Content-Length': String(row.size) },
    body: { binary: true, length: row.size, open: () => storage.read(row.storage_key) },
  };
}

export async function deleteFile(input: Input<'deleteFile'>, deps: Deps): Promise<Reply<'deleteFile'>> {
  const row = await ownFile(input, deps);
  const key = await files.deleteFile(deps.db, row.id);
  if (key === undefined) throw fileNotFound(input.fail);
  // The row is gone first: a failure now leaves unreferenced bytes, never a row without bytes.
  await deps.files.storage.remove(key).catch((error: unknown) => {
    deps.log.error({ err: error, storageKey: key }, 'could not remove the bytes of a deleted file');
  });
  return { status: 204 };
}
