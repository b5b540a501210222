import { expect } from 'chai';
import { parseBinaryCopy } from '../../src/db/repos/file-chunks.repo.js';

/** COPY … (FORMAT binary) output for one bytea column, as PostgreSQL writes it. */
function copyOutput(rows: readonly Buffer[], extension = Buffer.alloc(0)): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(4)];
  const length = Buffer.alloc(4);
  length.writeUInt32BE(extension.length);
  parts.push(length, extension);
  for (const row of rows) {
    const head = Buffer.alloc(6);
    head.writeInt16BE(1, 0);
    head.writeInt32BE(row.length, 2);
    parts.push(head, row);
  }
  const trailer = Buffer.alloc(2);
  trailer.writeInt16BE(-1);
  parts.push(trailer);
  return Buffer.concat(parts);
}

describe('parseBinaryCopy', () => {
  it('returns each row of one bytea column, bytes as they are', () => {
    const rows = [Buffer.from([0, 255, 10, 13]), Buffer.alloc(0), Buffer.from('chunk')];
    expect(parseBinaryCopy(copyOutput(rows))).to.deep.equal(rows);
    expect(parseBinaryCopy(copyOutput(rows, Buffer.from('ext')))).to.deep.equal(rows);
  });

  it('refuses output that is not COPY binary, or is cut short', () => {
    expect(() => parseBinaryCopy(Buffer.from('\\x00ff'))).to.throw(/not COPY binary/);
    const whole = copyOutput([Buffer.alloc(100)]);
    expect(() => parseBinaryCopy(whole.subarray(0, whole.length - 10))).to.throw();
  });
});
