/**
 * The process's logger and where its lines go. Lines are JSON (pino) on
 * standard output through a SonicBoom stream that gathers them up to
 * LOG_BUFFER_BYTES before one write, so a busy server makes one write per
 * several requests instead of one per request or two. A line waits at most
 * LOG_FLUSH_MS, and pino writes what is left synchronously when the process exits.
 */
import pino from 'pino';
import type { DestinationStream, Logger } from 'pino';
import type { Config } from './config.js';

type LogSettings = Pick<Config, 'logLevel' | 'logBufferBytes' | 'logFlushMs'>;

/** Loggers made by createLogger, with the stream their lines go to. */
const ownStreams = new WeakMap<Logger, DestinationStream>();

/** The buffered stream the logger writes to: standard output, or a file path or descriptor. */
export function logDestination(config: LogSettings, dest: number | string = 1): DestinationStream {
  return pino.destination({
    dest,
    sync: false,
    minLength: config.logBufferBytes,
    ...(config.logBufferBytes > 0 ? { periodicFlush: config.logFlushMs } : {}),
  });
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

const field = (name: string, value: unknown): string =>
  value === undefined ? '' : `,"${name}":${JSON.stringify(value)}`;

let isoMs = 0;
let isoText = '';

/** `new Date().toISOString()`, made once per millisecond: a busy server writes many lines in each. */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
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
    `{"level":30,"time":"${isoNow()}","pid":${process.pid},"reqId":${JSON.stringify(line.reqId)}` +
      `${field('method', line.method)}${field('path', line.path)}${field('operationId', line.operationId)}` +
      `,"status":${line.status}${field('contentType', line.contentType)},"durationMs":${JSON.stringify(line.durationMs)}` +
      `,"aborted":${line.aborted},"msg":"request"}\n`,
  );
}
