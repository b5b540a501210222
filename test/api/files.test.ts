/**
 * Files, run once per storage driver (local filesystem and chunked bytea in
 * the database). After every refused or broken upload, nothing may be left:
 * no row, no chunk, no file on disk.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { sql } from 'kysely';
import { newStorageKey } from '../../src/files/storage.js';
import { sweepOrphans } from '../../src/files/sweep.js';
import { countRows, resetDatabase, sharedDatabase, startApp } from '../helpers/app.js';
import type { TestApp } from '../helpers/app.js';
import {
  PNG,
  multipart,
  postForm,
  rawUpload,
  textFile,
  unsniffableBytes,
  windowsExecutable,
} from '../helpers/multipart.js';
import type { Form, Part } from '../helpers/multipart.js';
import { bearer, seedUser, tokenFor } from '../helpers/users.js';
import type { components, operations } from '../../generated/openapi.js';
import { expectProblem } from '../helpers/problems.js';
import { expectAnswer } from '../helpers/client.js';
import type { ClientAnswer } from '../helpers/client.js';

type StoredFile = components['schemas']['StoredFile'];
type DownloadHeaders = NonNullable<operations['downloadFile']['parameters']['header']>;

/** A download's bytes (none for an empty body, which the client leaves unread). */
const bytesOf = (answer: { data?: ArrayBuffer }): Buffer => Buffer.from(answer.data ?? new ArrayBuffer(0));

/** The text a part carries (the generated types read a binary part as a string). */
const partText = (parts: readonly Part[], name: string): string[] =>
  parts.filter((part) => part.name === name).map((part) => part.data.toString());

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** Every file under a directory, relative paths. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
}

async function poll(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const DRIVERS = ['local', 'database'] as const;

for (const driver of DRIVERS) {
  describe(`files (FILE_STORAGE=${driver})`, () => {
    let dir: string;
    let t: TestApp;
    let owner: { id: number; headers: Record<string, string> };

    /** Rows, chunks and files on disk: all must be zero after a refused upload. */
    const leftovers = async (): Promise<{ rows: number; chunks: number; onDisk: string[] }> => ({
      rows: await countRows('files'),
      chunks: await countRows('file_chunks'),
      onDisk: await filesUnder(dir),
    });
    const nothingLeft = { rows: 0, chunks: 0, onDisk: [] };
    const start = (env: Record<string, string> = {}): Promise<TestApp> =>
      startApp({ FILE_STORAGE: driver, FILES_DIR: dir, ...env });

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), `files-test-${driver}-`));
      t = await start();
    });
    after(async () => {
      await t.close();
      await rm(dir, { recursive: true, force: true });
    });
    beforeEach(async () => {
      await resetDatabase();
      await rm(dir, { recursive: true, force: true });
      const user = await seedUser();
      owner = { id: user.id, headers: bearer(tokenFor(t, user.id)) };
    });

    /**
     * Forms the contract allows go through the typed client. The bytes on the wire are built
     * here, part by part (a part's filename and type have no place in the generated body type);
     * `body` is what the form carries in the contract's terms.
     */
    const postUpload = (
      form: Form,
      body: components['schemas']['FileUpload'],
      headers = owner.headers,
      app = t,
    ) =>
      app.api.POST('/upload', {
        body,
        bodySerializer: () => form.body,
        headers: { ...headers, 'Content-Type': form.contentType },
      });
    const upload = (parts: readonly Part[], headers = owner.headers, app = t) => {
      const [description] = partText(parts, 'description');
      const body = {
        file: partText(parts, 'file')[0] ?? '',
        ...(description === undefined ? {} : { description }),
      };
      return postUpload(multipart(parts), body, headers, app);
    };
    const uploadMany = (parts: readonly Part[], headers = owner.headers, app = t) => {
      const form = multipart(parts);
      return app.api.POST('/upload-multiple', {
        body: { files: partText(parts, 'files') },
        bodySerializer: () => form.body,
        headers: { ...headers, 'Content-Type': form.contentType },
      });
    };
    /** Forms the contract forbids (undeclared, missing or repeated parts, values out of bounds) go as they are. */
    const uploadRaw = (parts: readonly Part[], headers = owner.headers, app = t): Promise<Response> =>
      postForm(app, '/upload', multipart(parts), headers);
    const uploadManyRaw = (parts: readonly Part[], headers = owner.headers): Promise<Response> =>
      postForm(t, '/upload-multiple', multipart(parts), headers);
    const stored = (answer: ClientAnswer<StoredFile>): StoredFile => expectAnswer(answer, 201);

    describe('uploadFile', () => {
      it('stores the bytes and answers their metadata, SHA-256 and Location', async () => {
        const res = await upload([textFile('Hello, world!'), { name: 'description', data: 'A greeting' }]);
        const file = stored(res);
        expect(file).to.include({
          owner_id: owner.id,
          filename: 'hello.txt',
          content_type: 'text/plain',
          declared_content_type: 'text/plain',
          size: 13,
          sha256: sha256('Hello, world!'),
          description: 'A greeting',
        });
        expect(res.response.headers.get('location')).to.equal(`/download/${file.id}`);
        const download = await t.api.GET('/download/{file_id}', {
          params: { path: { file_id: file.id } },
          headers: owner.headers,
          parseAs: 'text',
        });
        expect(download.data).to.equal('Hello, world!');
        expect(await countRows('files')).to.equal(1);
      });

      it('stores the type sniffed from the bytes beside the declared one', async () => {
        const file = stored(
          await upload([{ name: 'file', filename: 'pixel.txt', contentType: 'text/plain', data: PNG }]),
        );
        expect(file).to.include({ content_type: 'image/png', declared_content_type: 'text/plain' });
      });

      it('keeps a filename of ../../etc/passwd as harmless metadata; the stored object has a server-made name', async () => {
        const file = stored(await upload([textFile('root:x:0:0', '../../etc/passwd')]));
        expect(file.filename).to.equal('passwd');
        if (driver === 'local') {
          const names = await filesUnder(dir);
          expect(names).to.have.length(1);
          expect(names[0]).to.match(/^[0-9a-f]{32}$/);
        }
        const outside = await filesUnder(path.dirname(dir));
        expect(outside.filter((name) => name === 'passwd')).to.deep.equal([]);
      });

      it('decodes a raw UTF-8 filename, as browsers send it', async () => {
        const body = Buffer.concat([
          Buffer.from('--b\r\nContent-Disposition: form-data; name="file"; filename="日本語 résumé.txt"\r\n'),
          Buffer.from('Content-Type: text/plain\r\n\r\nhi\r\n--b--\r\n'),
        ]);
        const file = stored(
          await postUpload({ body, contentType: 'multipart/form-data; boundary=b' }, { file: 'hi' }),
        );
        expect(file.filename).to.equal('日本語 résumé.txt');
      });

      it('removes control characters, bidi overrides and backslash paths from the filename', async () => {
        const file = stored(await upload([textFile('x', 'C:\\Users\\evil\\re\u202Eport\u0007.txt')]));
        expect(file.filename).to.equal('report.txt');
      });

      it('is 415 for a type the contract does not accept, sniffed or declared, and keeps nothing', async () => {
        const exe = await upload([
          { name: 'file', filename: 'a.png', contentType: 'image/png', data: windowsExecutable() },
        ]);
        expect((await expectProblem(exe, 415, 'unsupported-media-type')).detail).to.contain('sniffed');
        const html = await upload([
          { name: 'file', filename: 'a.html', contentType: 'text/html', data: '<script>x</script>' },
        ]);
        await expectProblem(html, 415, 'unsupported-media-type');
        expect(await leftovers()).to.deep.equal(nothingLeft);
      });

      it('validates text fields with the contract (422 naming the field) and keeps nothing', async () => {
        const res = await uploadRaw([textFile('Hello'), { name: 'description', data: '' }]);
        const body = await expectProblem(res, 422, 'validation-failed');
        expect(body.errors?.map((e) => `${e.path} ${e.keyword}`)).to.deep.equal(['/description minLength']);
        expect(await leftovers()).to.deep.equal(nothingLeft);
      });

      it('is 422 naming an undeclared file part, an undeclared field, or a file sent as a field', async () => {
        for (const parts of [
          [textFile('x'), textFile('y', 'y.txt', 'other')],
          [textFile('x'), { name: 'other', data: 'y' }],
          [{ name: 'file', data: 'not a file part' }],
        ]) {
          const body = await expectProblem(await uploadRaw(parts), 422, 'validation-failed');
          expect(body.errors?.[0]?.path).to.be.oneOf(['/other', '/file']);
          expect(await leftovers()).to.deep.equal(nothingLeft);
        }
      });

      it('is 422 when the file is missing or sent twice, and keeps nothing', async () => {
        const missing = await uploadRaw([{ name: 'description', data: 'no file' }]);
        expect((await expectProblem(missing, 422, 'validation-failed')).errors?.[0]?.path).to.equal('/file');
        const twice = await uploadRaw([textFile('one'), textFile('two')]);
        const body = await expectProblem(twice, 422, 'validation-failed');
        expect(body.errors?.[0]).to.include({ path: '/file', keyword: 'maxItems' });
        expect(await leftovers()).to.deep.equal(nothingLeft);
      });

      it('is 400 for a multipart body without a boundary, with broken part headers, or cut mid-part', async () => {
        const noBoundary = await t.fetch('/upload', {
          method: 'POST',
          headers: { ...owner.headers, 'content-type': 'multipart/form-data' },
          body: 'whatever',
        });
        await expectProblem(noBoundary, 400, 'malformed-body');

        const brokenHeaders = Buffer.from(
          '--b\r\nContent-Disposition form-data name="file"\r\n\r\nx\r\n--b--\r\n',
        );
        const broken = await t.fetch('/upload', {
          method: 'POST',
          headers: { ...owner.headers, 'content-type': 'multipart/form-data; boundary=b' },
          body: brokenHeaders,
        });
        expect(broken.status).to.be.oneOf([400, 422]);

        const whole = multipart([textFile('x'.repeat(200_000))]);
        const cut = await t.fetch('/upload', {
          method: 'POST',
          headers: { ...owner.headers, 'content-type': whole.contentType },
          body: whole.body.subarray(0, 150_000),
        });
        expect((await expectProblem(cut, 400, 'malformed-body')).detail).to.contain('Unexpected end of form');
        expect(await leftovers()).to.deep.equal(nothingLeft);
      });

      it('leaves no row and no bytes when the client disconnects mid-upload', async () => {
        // uploadFiles: the first part is stored whole, the second is cut off mid-body.
        const form = multipart([
          textFile('complete', '1.txt', 'files'),
          { name: 'files', filename: 'big.bin', data: unsniffableBytes(4 * 1024 * 1024) },
        ]);
        const objects = async (): Promise<number> =>
          driver === 'database' ? countRows('file_chunks') : (await filesUnder(dir)).length;
        const answer = await rawUpload(t.url, '/upload-multiple', {
          headers: {
            ...owner.headers,
            'content-type': form.contentType,
            'content-length': String(form.body.length),
          },
          head: form.body.subarray(0, 3 * 1024 * 1024),
          // Cut only once both parts have bytes in storage, so the cleanup is what is tested.
          beforeAbort: () => poll(async () => (await objects()) >= 2),
        });
        expect(answer).to.equal(undefined);
        await poll(async () => {
          const left = await leftovers();
          return left.rows === 0 && left.chunks === 0 && left.onDisk.length === 0;
        });
        // The server is still fine.
        const next = await upload([textFile('after')]);
        expect(next.response.status).to.equal(201);
      });

      it('never reads the body of an anonymous caller (401) or a guest (403)', async () => {
        const anonymous = await upload([textFile('x')], {});
        await expectProblem(anonymous, 401, 'unauthorized');
        const guest = await seedUser({ role: 'guest' });
        const refused = await upload([textFile('x')], bearer(tokenFor(t, guest.id)));
        await expectProblem(refused, 403, 'forbidden');
        expect(await leftovers()).to.deep.equal(nothingLeft);
      });

      describe('with small configured limits', () => {
        let small: TestApp;
        before(async () => {
          small = await start({
            UPLOAD_MAX_FILE_BYTES: '1000',
            UPLOAD_MAX_FIELD_BYTES: '10',
            UPLOAD_MAX_PARTS: '3',
            UPLOAD_MAX_FIELDS: '1',
          });
        });
        after(async () => {
          await small.close();
        });
        const headers = (): Record<string, string> => bearer(tokenFor(small, owner.id));

        it('takes a file of exactly UPLOAD_MAX_FILE_BYTES and refuses one byte more with 413', async () => {
          const over = await upload([textFile('x'.repeat(1001))], headers(), small);
          await expectProblem(over, 413, 'content-too-large');
          expect(await leftovers()).to.deep.equal(nothingLeft);
          expect((await upload([textFile('x'.repeat(1000))], headers(), small)).response.status).to.equal(
            201,
          );
        });

        it('is 413 for a field longer than UPLOAD_MAX_FIELD_BYTES', async () => {
          const res = await upload(
            [textFile('x'), { name: 'description', data: 'x'.repeat(11) }],
            headers(),
            small,
          );
          await expectProblem(res, 413, 'content-too-large');
          expect(await leftovers()).to.deep.equal(nothingLeft);
        });

        it('is 413 for more fields than UPLOAD_MAX_FIELDS or more parts than UPLOAD_MAX_PARTS', async () => {
          const fields = await uploadRaw(
            [textFile('x'), { name: 'description', data: 'a' }, { name: 'description', data: 'b' }],
            headers(),
            small,
          );
          await expectProblem(fields, 413, 'content-too-large');
          const parts = await uploadMany(
            [1, 2, 3, 4].map((n) => textFile(String(n), `${n}.txt`, 'files')),
            headers(),
            small,
          );
          await expectProblem(parts, 413, 'content-too-large');
          expect(await leftovers()).to.deep.equal(nothingLeft);
        });
      });
    });

    describe('uploadFiles', () => {
      it('stores every part, in order', async () => {
        const res = await uploadMany([
          textFile('one', '1.txt', 'files'),
          { name: 'files', filename: 'p.png', contentType: 'image/png', data: PNG },
          textFile('three', '3.txt', 'files'),
        ]);
        const body = expectAnswer(res, 201);
        expect(body.uploaded_files.map((f) => [f.filename, f.content_type, f.size])).to.deep.equal([
          ['1.txt', 'text/plain', 3],
          ['p.png', 'image/png', PNG.length],
          ['3.txt', 'text/plain', 5],
        ]);
        expect(await countRows('files')).to.equal(3);
      });

      it('is all or nothing: one refused part leaves none of the others', async () => {
        const res = await uploadMany([
          textFile('one', '1.txt', 'files'),
          textFile('two', '2.txt', 'files'),
          {
            name: 'files',
            filename: 'x.exe',
            contentType: 'application/octet-stream',
            data: windowsExecutable(),
          },
        ]);
        await expectProblem(res, 415, 'unsupported-media-type');
        expect(await leftovers()).to.deep.equal(nothingLeft);
      });

      it("is 422 naming `files` beyond the contract's maxItems (10)", async () => {
        const parts = Array.from({ length: 11 }, (_, n) => textFile(String(n), `${n}.txt`, 'files'));
        const body = await expectProblem(await uploadManyRaw(parts), 422, 'validation-failed');
        expect(body.errors?.[0]).to.include({ path: '/files', keyword: 'maxItems' });
        expect(await leftovers()).to.deep.equal(nothingLeft);
      });

      it("is 413 for a part over the contract's x-max-file-size (10 MiB) though the server allows more", async () => {
        const res = await uploadManyRaw([
          textFile('fine', '1.txt', 'files'),
          { name: 'files', filename: 'big.bin', data: Buffer.alloc(10 * 1024 * 1024 + 1) },
        ]);
        expect((await expectProblem(res, 413, 'content-too-large')).detail).to.contain('10485760');
        expect(await leftovers()).to.deep.equal(nothingLeft);
      });
    });

    describe('listFiles', () => {
      it("lists the caller's own files, newest first, paged", async () => {
        for (const n of [1, 2, 3]) stored(await upload([textFile(String(n), `${n}.txt`)]));
        const other = await seedUser();
        stored(await upload([textFile('theirs')], bearer(tokenFor(t, other.id))));
        const res = await t.api.GET('/files', { params: { query: { limit: 2 } }, headers: owner.headers });
        const page = expectAnswer(res, 200);
        expect(page.total).to.equal(3);
        expect(page.items.map((f) => f.filename)).to.deep.equal(['3.txt', '2.txt']);
      });
    });

    describe('downloadFile', () => {
      const NAME = 'naïve "report" 2026.txt';
      let file: StoredFile;
      beforeEach(async () => {
        file = stored(await upload([textFile('Hello, world!', NAME)]));
      });
      const download = (header: DownloadHeaders = {}, id = file.id, headers = owner.headers) =>
        t.api.GET('/download/{file_id}', {
          params: { path: { file_id: id }, header },
          headers,
          parseAs: 'arrayBuffer',
        });

      it('streams the bytes with safe headers: sniffed type, nosniff, length, attachment, ETag', async () => {
        const answer = await download();
        const res = answer.response;
        expect(res.status).to.equal(200);
        expect(res.headers.get('content-type')).to.equal('text/plain');
        expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
        expect(res.headers.get('content-length')).to.equal('13');
        expect(res.headers.get('etag')).to.equal(`"${sha256('Hello, world!')}"`);
        expect(res.headers.get('accept-ranges')).to.equal('bytes');
        expect(res.headers.get('cache-control')).to.equal('private, no-cache');
        expect(res.headers.get('content-disposition')).to.equal(
          `attachment; filename="naive _report_ 2026.txt"; filename*=UTF-8''na%C3%AFve%20%22report%22%202026.txt`,
        );
        expect(bytesOf(answer).toString()).to.equal('Hello, world!');
      });

      it('answers 304 without a body when If-None-Match has the ETag (also weak, in a list, or *)', async () => {
        const etag = `"${file.sha256}"`;
        for (const value of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
          const { data, error, response } = await download({ 'If-None-Match': value });
          expect(response.status, value).to.equal(304);
          expect(response.headers.get('etag')).to.equal(etag);
          // The client reads the body of an answer outside 2xx as text (and as JSON when it parses).
          expect(data).to.equal(undefined);
          expect(error ?? '').to.equal('');
        }
        expect((await download({ 'If-None-Match': '"other"' })).response.status).to.equal(200);
      });

      it('answers one byte range with 206 and Content-Range', async () => {
        const cases: [string, string, string][] = [
          ['bytes=0-4', 'Hello', 'bytes 0-4/13'],
          ['bytes=7-', 'world!', 'bytes 7-12/13'],
          ['bytes=-6', 'world!', 'bytes 7-12/13'],
          ['bytes=7-100', 'world!', 'bytes 7-12/13'],
        ];
        for (const [range, body, contentRange] of cases) {
          const answer = await download({ Range: range });
          expect(answer.response.status, range).to.equal(206);
          expect(answer.response.headers.get('content-range')).to.equal(contentRange);
          expect(answer.response.headers.get('content-length')).to.equal(String(body.length));
          expect(bytesOf(answer).toString()).to.equal(body);
        }
      });

      it('is 416 with Content-Range for a range beyond the end; several ranges get the whole file', async () => {
        const beyond = await download({ Range: 'bytes=13-' });
        await expectProblem(beyond, 416, 'range-not-satisfiable');
        expect(beyond.response.headers.get('content-range')).to.equal('bytes */13');
        const several = await download({ Range: 'bytes=0-1,3-4' });
        expect(several.response.status).to.equal(200);
        expect(bytesOf(several).toString()).to.equal('Hello, world!');
        const stale = await download({ Range: 'bytes=0-4', 'If-Range': '"old"' });
        expect(stale.response.status).to.equal(200);
      });

      it('streams files larger than one storage chunk, and ranges across chunk boundaries', async () => {
        const data = unsniffableBytes(2 * 1024 * 1024 + 12_345);
        const big = stored(
          await upload([
            { name: 'file', filename: 'big.bin', contentType: 'application/octet-stream', data },
          ]),
        );
        const whole = bytesOf(await download({}, big.id));
        expect(sha256(whole)).to.equal(sha256(data));
        const at = 1024 * 1024 - 10;
        const part = await download({ Range: `bytes=${at}-${at + 1024 * 1024 + 19}` }, big.id);
        expect(part.response.status).to.equal(206);
        expect(bytesOf(part).equals(data.subarray(at, at + 1024 * 1024 + 20))).to.equal(true);
      });

      it('keeps every byte of a file stored and read in several batches of chunks, whole and in ranges', async () => {
        const MiB = 1024 * 1024;
        const data = unsniffableBytes(9 * MiB + 777);
        const big = stored(
          await upload([
            { name: 'file', filename: 'big.bin', contentType: 'application/octet-stream', data },
          ]),
        );
        const whole = bytesOf(await download({}, big.id));
        expect(whole.length).to.equal(data.length);
        expect(sha256(whole)).to.equal(sha256(data));
        for (const [start, end] of [
          [4 * MiB - 3, 8 * MiB + 2],
          [9 * MiB, 9 * MiB + 776],
          [0, 0],
        ] as const) {
          const part = await download({ Range: `bytes=${start}-${end}` }, big.id);
          expect(part.response.status).to.equal(206);
          expect(bytesOf(part).equals(data.subarray(start, end + 1))).to.equal(true);
        }
      });

      it('serves an empty file', async () => {
        const empty = stored(await upload([textFile('', 'empty.txt')]));
        const answer = await download({}, empty.id);
        expect(answer.response.status).to.equal(200);
        expect(answer.response.headers.get('content-length')).to.equal('0');
        expect(bytesOf(answer).toString()).to.equal('');
      });

      it('answers a logged 500 problem, not a hang or a cut body, when the stored bytes are gone', async () => {
        const row = await sharedDatabase().then(({ db }) =>
          db.selectFrom('files').select('storage_key').where('id', '=', file.id).executeTakeFirstOrThrow(),
        );
        await t.app.deps.files.storage.remove(row.storage_key);
        const res = await download();
        const problem = await expectProblem(res, 500, 'internal-error');
        expect(res.response.headers.get('content-type')).to.contain('application/problem+json');
        expect(res.response.headers.get('content-disposition')).to.equal(null);
        expect(problem.detail).to.equal('An unexpected error occurred.');
      });

      it('is 404 for another user and for a missing file; an admin may download', async () => {
        const other = await seedUser();
        expect((await download({}, file.id, bearer(tokenFor(t, other.id)))).response.status).to.equal(404);
        expect((await download({}, file.id + 1000)).response.status).to.equal(404);
        const admin = await seedUser({ role: 'admin' });
        expect((await download({}, file.id, bearer(tokenFor(t, admin.id)))).response.status).to.equal(200);
      });
    });

    describe('deleteFile', () => {
      it('removes the row and the bytes; another user gets 404 and changes nothing', async () => {
        const file = stored(await upload([textFile('bye')]));
        const other = await seedUser();
        const remove = (headers: Record<string, string>) =>
          t.api.DELETE('/files/{file_id}', { params: { path: { file_id: file.id } }, headers });
        await expectProblem(await remove(bearer(tokenFor(t, other.id))), 404, 'not-found');
        expect(await countRows('files')).to.equal(1);
        expect((await remove(owner.headers)).response.status).to.equal(204);
        expect(await leftovers()).to.deep.equal(nothingLeft);
        const gone = await t.api.GET('/download/{file_id}', {
          params: { path: { file_id: file.id } },
          headers: owner.headers,
        });
        await expectProblem(gone, 404, 'not-found');
      });
    });

    describe('orphan sweep', () => {
      it('removes stale bytes that no row references; keeps referenced and recent ones', async () => {
        const { db } = await sharedDatabase();
        const storage = t.app.deps.files.storage;
        const kept = stored(await upload([textFile('kept')]));
        const orphan = newStorageKey();
        await storage.write(orphan, Readable.from([Buffer.from('orphan')]));
        const recent = newStorageKey();
        await storage.write(recent, Readable.from([Buffer.from('recent, maybe an upload in progress')]));
        // Everything but `recent` was written two hours ago.
        const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000);
        if (driver === 'database') {
          await sql`update file_chunks set created_at = ${twoHoursAgo} where storage_key <> ${recent}`.execute(
            db,
          );
        } else {
          const entries = await readdir(dir, { recursive: true, withFileTypes: true });
          for (const entry of entries.filter((e) => e.isFile() && e.name !== recent)) {
            await utimes(path.join(entry.parentPath, entry.name), twoHoursAgo, twoHoursAgo);
          }
        }
        expect(await sweepOrphans(db, storage, 3600 * 1000)).to.equal(1);
        const download = await t.api.GET('/download/{file_id}', {
          params: { path: { file_id: kept.id } },
          headers: owner.headers,
          parseAs: 'text',
        });
        expect(download.data).to.equal('kept');
        const left = await leftovers();
        expect(driver === 'database' ? left.chunks : left.onDisk.length).to.equal(2);
        expect(await sweepOrphans(db, storage, 3600 * 1000)).to.equal(0);
      });
    });
  });
}
