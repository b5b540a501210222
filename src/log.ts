/**
 * The process's logger and where its lines go. Lines are JSON (pino) on
 * standard output. They are gathered into one string of LOG_BUFFER_BYTES
 * before it goes to a SonicBoom stream, which writes it off the main thread,
 * so a busy server makes one write per several requests instead of one per
 * request or two. A line waits at most LOG_FLUSH_MS, and whatever is left is
 * written synchronously when the process exits.
 */
import pino from 'pino';
import type { DestinationStream, Logger } from 'pino';
import type { Config } from './config.js';

type LogSettings = Pick<Config, 'logLevel' | 'logBufferBytes' | 'logFlushMs'>;

/** Loggers made by createLogger, with the stream their lines go to. */
const ownStreams = new WeakMap<Logger, DestinationStream>();

/** Line buffers still open: what they hold is written out at exit. */
const openBuffers = new Set<LineBuffer>();
let exitHook = false;

/**
 * Gathers lines in one string and hands it to SonicBoom once it holds
 * `minLength` characters (bytes, for the ASCII JSON that nearly every line
 * is), or every `flushMs`. SonicBoom can gather lines
 * itself, but it measures the whole pending string in bytes on every write,
 * so its cost per line grows with the buffer; adding to a string here costs
 * the same for every line. Lines keep their order: everything goes through `write`.
 */
class LineBuffer implements DestinationStream {
  private pending = '';
  private readonly stream: ReturnType<typeof pino.destination>;
  private readonly minLength: number;

  constructor(dest: number | string, minLength: number, flushMs: number) {
    if (!exitHook) {
      // pino flushes its SonicBoom streams synchronously at exit too, but its hook may run
      // before this one: each buffer hands its lines over and flushes them itself.
      process.on('exit', () => {
        for (const buffer of openBuffers) buffer.flushAtExit();
      });
      exitHook = true;
    }
    this.minLength = minLength;
    this.stream = pino.destination({ dest, sync: false, minLength: 0 });
    openBuffers.add(this);
    const timer = setInterval(() => {
      this.handOver();
    }, flushMs);
    timer.unref();
    this.stream.once('close', () => {
      clearInterval(timer);
      openBuffers.delete(this);
    });
  }

  write(line: string): boolean {
    this.pending += line;
    if (this.pending.length >= this.minLength) return this.handOver();
    return true;
  }

  /** Gives SonicBoom every line gathered so far. */
  handOver(): boolean {
    if (this.pending === '') return true;
    const chunk = this.pending;
    this.pending = '';
    return this.stream.write(chunk);
  }

  flush(callback?: (error?: Error) => void): void {
    this.handOver();
    this.stream.flush(callback);
  }

  flushSync(): void {
    this.handOver();
    this.stream.flushSync();
  }

  /** flushSync, except that a stream still opening its file (nothing written yet) is left alone. */
  flushAtExit(): void {
    try {
      this.flushSync();
    } catch {
      // SonicBoom throws when its file is not open yet; there is nothing more to do at exit.
    }
  }

  end(): void {
    this.handOver();
    this.stream.end();
  }
}

/** A destination logDestination makes: it can be ended, which writes what it holds and closes it. */
export type LogDestination = DestinationStream & { end(): void };

/** The buffered stream the logger writes to: standard output, or a file path or descriptor. */
export function logDestination(config: LogSettings, dest: number | string = 1): LogDestination {
  if (config.logBufferBytes === 0) return pino.destination({ dest, sync: false, minLength: 0 });
  return new LineBuffer(dest, config.logBufferBytes, config.logFlushMs);
}

/** The root logger: ISO timestamps, the process id on every line. */
export function createLogger(config: LogSettings, destination?: DestinationStream): Logger {
  const stream = destination ?? logDestination(config);
  const log = pino(
    { level: config.logLevel, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    stream,
  );
  ownStreams.set(log, stream);
  return log;
}

/** The fields of the one line every request writes when its response is done. */
export interface RequestLine {
  readonly reqId: string;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly operationId: string | undefined;
  readonly status: number;
  readonly contentType: unknown;
  readonly durationMs: number;
  readonly aborted: boolean;
}

/**
 * A string as JSON. JSON.stringify costs about twice a scan and a
 * concatenation, so a string with nothing to escape (printable ASCII without
 * a quote or a backslash: request ids, methods, most paths) is quoted as it is.
 */
function jsonString(value: string): string {
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code > 0x7e || code === 0x22 || code === 0x5c) return JSON.stringify(value);
  }
  return `"${value}"`;
}

const jsonValue = (value: unknown): string =>
  typeof value === 'string'
    ? jsonString(value)
    : typeof value === 'number' && Number.isFinite(value)
      ? String(value)
      : JSON.stringify(value);

const field = (name: string, value: unknown): string =>
  value === undefined ? '' : `,"${name}":${jsonValue(value)}`;

let isoSecond = NaN;
let isoPrefix = '';

/**
 * `new Date().toISOString()`. V8 formats dates through snprintf (several
 * thousand instructions a call), so the part up to the seconds is made once
 * per second and the milliseconds are added to it.
 */
export function isoNow(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    // "2026-12-04T20:09:31." of "2026-12-04T20:09:31.123Z"
    isoPrefix = new Date(second * 1000).toISOString().slice(0, -4);
  }
  return `${isoPrefix}${String(now - second * 1000).padStart(3, '0')}Z`;
}

/**
 * Writes the request line at level info. For a logger made by createLogger the
 * line is put together here, in the exact shape pino gives it (level, time,
 * pid, the fields, msg): it is written for every request, and pino's general
 * serialiser is the costliest step left on the path of a small answer. Any
 * other logger (a caller's own, a child) gets `log.info` as usual.
 */
export function writeRequestLine(log: Logger, line: RequestLine): void {
  const stream = ownStreams.get(log);
  if (stream === undefined) {
    log.info(line, 'request');
    return;
  }
  if (!log.isLevelEnabled('info')) return;
  stream.write(
    `{"level":30,"time":"${isoNow()}","pid":${process.pid},"reqId":${jsonString(line.reqId)}` +
      `${field('method', line.method)}${field('path', line.path)}${field('operationId', line.operationId)}` +
      `,"status":${line.status}${field('contentType', line.contentType)},"durationMs":${jsonValue(line.durationMs)}` +
      `,"aborted":${line.aborted},"msg":"request"}\n`,
  );
}
