import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { createLogger, isoNow, logDestination, writeRequestLine } from '../../src/log.js';
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
    'a path with a tab, DEL and markup, and a duration that is not a number',
    {
      reqId: 'A.b:c-9',
      method: 'GET',
      path: '/a\tb\u007f<script>&x=1 y',
      operationId: 'getCurrentUser',
      status: 400,
      contentType: 'application/problem+json; charset=utf-8',
      durationMs: Number.NaN,
      aborted: false,
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

describe('the log destination', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'log-destination-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const read = (file: string): string[] =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '');

  it('holds lines until LOG_BUFFER_BYTES have gathered, then writes them in order with the others', async () => {
    const file = path.join(dir, 'buffered.log');
    const config = loadConfig({ LOG_LEVEL: 'info', LOG_BUFFER_BYTES: '2000', LOG_FLUSH_MS: '60000' });
    const destination = logDestination(config, file);
    const log = createLogger(config, destination);
    writeRequestLine(log, { ...cases[0]![1], reqId: 'first' });
    log.warn('in between');
    writeRequestLine(log, { ...cases[0]![1], reqId: 'second' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(read(file)).to.deep.equal([]);
    for (let i = 0; i < 20; i += 1) writeRequestLine(log, { ...cases[0]![1], reqId: `more-${i}` });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const lines = read(file).map((line) => JSON.parse(line) as { reqId?: string; msg: string });
    expect(lines.length).to.be.at.least(3);
    expect(lines.slice(0, 3).map((line) => line.reqId ?? line.msg)).to.deep.equal([
      'first',
      'in between',
      'second',
    ]);
    destination.end();
  });

  it('writes what it holds within LOG_FLUSH_MS', async () => {
    const file = path.join(dir, 'flushed.log');
    const config = loadConfig({ LOG_LEVEL: 'info', LOG_BUFFER_BYTES: '16000', LOG_FLUSH_MS: '20' });
    const destination = logDestination(config, file);
    writeRequestLine(createLogger(config, destination), cases[0]![1]);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(read(file)).to.have.length(1);
    destination.end();
  });

  it('writes what it holds when the process exits at once, whichever exit hook runs first', () => {
    const file = path.join(dir, 'exit.log');
    const script = [
      "import { openSync } from 'node:fs';",
      "import { pino } from 'pino';",
      "import { loadConfig } from './src/config.ts';",
      // Another SonicBoom first, so pino's own exit hook is installed, and runs, before this module's.
      "pino.destination({ dest: openSync('/dev/null', 'a'), sync: false });",
      "import { createLogger, logDestination, writeRequestLine } from './src/log.ts';",
      "const config = loadConfig({ LOG_LEVEL: 'info', LOG_BUFFER_BYTES: '16000', LOG_FLUSH_MS: '60000' });",
      // A descriptor, as standard output is: a path would still be opening when the process exits.
      `const log = createLogger(config, logDestination(config, openSync(${JSON.stringify(file)}, 'a')));`,
      `writeRequestLine(log, ${JSON.stringify(cases[0]![1])});`,
      "log.info('last words');",
      `writeRequestLine(log, ${JSON.stringify({ ...cases[0]![1], reqId: 'after' })});`,
      'process.exit(0);',
    ].join('\n');
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
    const lines = read(file).map((line) => JSON.parse(line) as { reqId?: string; msg: string });
    expect(lines.map((line) => line.reqId ?? line.msg)).to.deep.equal([
      cases[0]![1].reqId,
      'last words',
      'after',
    ]);
  });
});

describe('the log line timestamp', () => {
  it('is the ISO 8601 time of toISOString, across milliseconds, seconds, days and years', () => {
    const instants = [
      Date.UTC(2026, 11, 4, 20, 9, 31, 0),
      Date.UTC(2026, 11, 4, 20, 9, 31, 7),
      Date.UTC(2026, 11, 4, 20, 9, 31, 42),
      Date.UTC(2026, 11, 4, 20, 9, 31, 999),
      Date.UTC(2026, 11, 4, 20, 9, 32, 0),
      Date.UTC(2026, 11, 4, 23, 59, 59, 999),
      Date.UTC(2026, 11, 5, 0, 0, 0, 5),
      Date.UTC(2026, 11, 4, 20, 9, 31, 120),
      Date.UTC(2027, 0, 1, 0, 0, 0, 100),
      0,
    ];
    for (const at of instants) expect(isoNow(at), String(at)).to.equal(new Date(at).toISOString());
  });

  it('is the current time by default', () => {
    const before = Date.now();
    const stamp = Date.parse(isoNow());
    expect(stamp).to.be.within(before, Date.now());
  });
});
