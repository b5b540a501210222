import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config.js';
import { contentDisposition, normalizeFilename } from '../../src/files/filename.js';
import { accepts } from '../../src/files/form-plan.js';
import { byteRange, noneMatch } from '../../src/files/range.js';

describe('files: filenames', () => {
  it('keeps only the last path segment, whichever separator', () => {
    expect(normalizeFilename('../../etc/passwd')).to.equal('passwd');
    expect(normalizeFilename('..\\..\\windows\\win.ini')).to.equal('win.ini');
    expect(normalizeFilename('/abs/path/')).to.equal('file');
  });

  it('removes control characters and bidi overrides, trims, and never answers a dot-only name', () => {
    expect(normalizeFilename('a\u0000b\u001fc\u007f\u0085.txt')).to.equal('abc.txt');
    expect(normalizeFilename('invoice\u202Egnp.exe')).to.equal('invoicegnp.exe');
    expect(normalizeFilename('  spaced  ')).to.equal('spaced');
    for (const name of ['', '.', '..', '...', undefined]) expect(normalizeFilename(name)).to.equal('file');
  });

  it('normalises to NFC and caps at 255 code points without splitting a surrogate pair', () => {
    expect(normalizeFilename('e\u0301.txt')).to.equal('\u00e9.txt');
    const long = normalizeFilename('😀'.repeat(300));
    expect([...long]).to.have.length(255);
    expect(long).to.equal('😀'.repeat(255));
  });

  it('builds an attachment Content-Disposition with an ASCII fallback and an RFC 8187 filename*', () => {
    expect(contentDisposition('hello.txt')).to.equal(
      `attachment; filename="hello.txt"; filename*=UTF-8''hello.txt`,
    );
    expect(contentDisposition('résumé (1)*.pdf')).to.equal(
      `attachment; filename="resume (1)*.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%281%29%2A.pdf`,
    );
    expect(contentDisposition('a"b\\c%d.txt')).to.equal(
      `attachment; filename="a_b_c_d.txt"; filename*=UTF-8''a%22b%5Cc%25d.txt`,
    );
    expect(contentDisposition('日本.txt')).to.match(
      /^attachment; filename="__\.txt"; filename\*=UTF-8''%E6%97%A5/,
    );
  });
});

describe('files: media ranges', () => {
  it('matches exact types, type/* and */*; an empty list accepts anything', () => {
    expect(accepts(['image/png'], 'image/png')).to.equal(true);
    expect(accepts(['image/png'], 'image/jpeg')).to.equal(false);
    expect(accepts(['image/*'], 'image/jpeg')).to.equal(true);
    expect(accepts(['*/*'], 'application/x-msdownload')).to.equal(true);
    expect(accepts([], 'anything/at-all')).to.equal(true);
  });
});

describe('files: conditional and range requests', () => {
  const etag = `"${'a'.repeat(64)}"`;

  it('If-None-Match matches the tag, its weak form, one in a list, or *', () => {
    expect(noneMatch(undefined, etag)).to.equal(false);
    expect(noneMatch(etag, etag)).to.equal(true);
    expect(noneMatch(`W/${etag}`, etag)).to.equal(true);
    expect(noneMatch(`"x", ${etag}`, etag)).to.equal(true);
    expect(noneMatch('*', etag)).to.equal(true);
    expect(noneMatch('"x"', etag)).to.equal(false);
  });

  it('answers one byte range, suffixes and open ends, clamped to the size', () => {
    expect(byteRange('bytes=0-4', 13)).to.deep.equal({ kind: 'partial', range: { start: 0, end: 4 } });
    expect(byteRange('bytes=7-', 13)).to.deep.equal({ kind: 'partial', range: { start: 7, end: 12 } });
    expect(byteRange('bytes=-6', 13)).to.deep.equal({ kind: 'partial', range: { start: 7, end: 12 } });
    expect(byteRange('bytes=-100', 13)).to.deep.equal({ kind: 'partial', range: { start: 0, end: 12 } });
    expect(byteRange('bytes=5-100', 13)).to.deep.equal({ kind: 'partial', range: { start: 5, end: 12 } });
  });

  it('is unsatisfiable past the end (and for any range of an empty file)', () => {
    expect(byteRange('bytes=13-', 13)).to.deep.equal({ kind: 'unsatisfiable' });
    expect(byteRange('bytes=-0', 13)).to.deep.equal({ kind: 'unsatisfiable' });
    expect(byteRange('bytes=0-0', 0)).to.deep.equal({ kind: 'unsatisfiable' });
  });

  it('ignores what it does not serve: no header, other units, several ranges, garbage, reversed', () => {
    for (const header of [undefined, 'items=0-1', 'bytes=0-1,3-4', 'bytes=abc', 'bytes=-', 'bytes=5-3']) {
      expect(byteRange(header, 13), String(header)).to.deep.equal({ kind: 'whole' });
    }
  });
});

describe('files: configuration', () => {
  it('defaults to local storage under DATA_DIR, with the documented limits', () => {
    const { files } = loadConfig({ DATA_DIR: '/srv/app' });
    expect(files).to.deep.equal({
      storage: 'local',
      dir: path.join('/srv/app', 'files'),
      maxFileBytes: 100 * 1024 * 1024,
      maxFiles: 10,
      maxFields: 20,
      maxFieldBytes: 64 * 1024,
      maxParts: 50,
      maxHeaderPairs: 20,
      sweepAfterSeconds: 3600,
    });
  });

  it('puts the files of an in-memory database under the OS temp dir, and FILES_DIR wins', () => {
    expect(loadConfig({ DATA_DIR: 'memory://' }).files.dir.startsWith(os.tmpdir())).to.equal(true);
    expect(loadConfig({ DATA_DIR: 'memory://', FILES_DIR: '/x' }).files.dir).to.equal('/x');
  });

  it('refuses an unknown driver or a bad limit, naming the variable', () => {
    expect(() => loadConfig({ FILE_STORAGE: 's3' })).to.throw(ConfigError, 'FILE_STORAGE');
    expect(() => loadConfig({ UPLOAD_MAX_FILE_BYTES: '0' })).to.throw(ConfigError, 'UPLOAD_MAX_FILE_BYTES');
    expect(() => loadConfig({ UPLOAD_MAX_FILES: 'ten' })).to.throw(ConfigError, 'UPLOAD_MAX_FILES');
  });
});
