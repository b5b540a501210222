import { expect } from 'chai';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { createLogger, writeRequestLine } from '../../src/log.js';
import type { RequestLine } from '../../src/log.js';

/** A destination that keeps every line it is given. */
function collector(): { stream: Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((line) => line !== ''),
      );
      callback();
    },
  });
  return { stream, lines };
}

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const cases: [string, RequestLine][] = [
  [
    'a served operation',
    {
      reqId: 'f1d2d2f9-24e6-4b1a-9b3c-1234567890ab',
      method: 'GET',
      path: '/users/me',
      operationId: 'getCurrentUser',
      status: 200,
      contentType: 'application/json; charset=utf-8',
      durationMs: 1.234567,
      aborted: false,
    },
  ],
  [
    'a path outside the contract, without an operation or a content type',
    {
      reqId: 'client-id.1:2',
      method: 'DELETE',
      path: '/no/"such"\\path/\u00e9\u2028\n',
      operationId: undefined,
      status: 404,
      contentType: undefined,
      durationMs: 0.05,
      aborted: true,
    },
  ],
  [
    'a content type Express set as a list, and no path',
    {
      reqId: 'r',
      method: undefined,
      path: undefined,
      operationId: undefined,
      status: 500,
      contentType: ['text/html', 'x'],
      durationMs: 12,
      aborted: false,
    },
  ],
];

describe('the request log line', () => {
  const config = loadConfig({ LOG_LEVEL: 'info' });

  for (const [what, line] of cases) {
    it(`reads back as pino's own line for ${what}`, async () => {
      const own = collector();
      writeRequestLine(createLogger(config, own.stream), line);
      const reference = collector();
      const plain = pino(
        { level: 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
        reference.stream,
      );
      plain.info(line, 'request');
      await settled();
      expect(own.lines).to.have.length(1);
      const written = JSON.parse(own.lines[0] ?? '') as Record<string, unknown>;
      const expected = JSON.parse(reference.lines[0] ?? '') as Record<string, unknown>;
      expect(written['time']).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect({ ...written, time: undefined }).to.deep.equal({ ...expected, time: undefined });
      expect(Object.keys(written)).to.deep.equal(Object.keys(expected));
    });
  }

  it('is not written when the level is above info', async () => {
    const own = collector();
    writeRequestLine(createLogger(loadConfig({ LOG_LEVEL: 'warn' }), own.stream), cases[0]![1]);
    await settled();
    expect(own.lines).to.deep.equal([]);
  });

  it('goes through log.info for a logger it did not make (a child keeps its bindings)', async () => {
    const own = collector();
    const child = createLogger(config, own.stream).child({ worker: 2 });
    writeRequestLine(child, cases[0]![1]);
    await settled();
    expect(JSON.parse(own.lines[0] ?? '')).to.include({ worker: 2, msg: 'request', status: 200 });
  });
});
