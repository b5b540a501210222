/** WebSocket clients for tests: frames queued as they arrive, awaited one by one with a deadline. */
import { WebSocket } from 'ws';
import type { ClientOptions } from 'ws';

export interface TestSocket {
  readonly ws: WebSocket;
  /** The next frame (text), waiting up to timeoutMs. */
  next(timeoutMs?: number): Promise<string>;
  /** The next frame parsed as JSON. */
  nextJson<T = Record<string, unknown>>(timeoutMs?: number): Promise<T>;
  /** Skips frames until one satisfies `match`; returns it parsed. */
  until<T = Record<string, unknown>>(match: (frame: T) => boolean, timeoutMs?: number): Promise<T>;
  /** Resolves with no frame for `ms`, or rejects with the frame that came. */
  silentFor(ms: number): Promise<void>;
  /** Resolves with the close code and reason. */
  closed(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  send(text: string): void;
  close(): Promise<void>;
}

/** Opens a WebSocket and waits for the handshake; rejects with the HTTP status on a refusal. */
export async function openSocket(url: string, options: ClientOptions = {}): Promise<TestSocket> {
  const ws = new WebSocket(url, options);
  const frames: string[] = [];
  const waiters: ((frame: string) => void)[] = [];
  ws.on('message', (data: Buffer) => {
    const frame = data.toString('utf8');
    const waiter = waiters.shift();
    if (waiter === undefined) frames.push(frame);
    else waiter(frame);
  });
  let closeInfo: { code: number; reason: string } | undefined;
  const closedPromise = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.once('close', (code, reason) => {
      closeInfo = { code, reason: reason.toString('utf8') };
      resolve(closeInfo);
    });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`upgrade refused with ${res.statusCode}`));
      res.resume();
    });
    ws.once('error', reject);
  });

  const next = (timeoutMs = 5000): Promise<string> => {
    const queued = frames.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const at = waiters.indexOf(waiter);
        if (at >= 0) waiters.splice(at, 1);
        reject(new Error(`no frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (frame: string): void => {
        clearTimeout(timer);
        resolve(frame);
      };
      waiters.push(waiter);
    });
  };
  const nextJson = async <T>(timeoutMs?: number): Promise<T> => JSON.parse(await next(timeoutMs)) as T;
  return {
    ws,
    next,
    nextJson,
    async until<T>(match: (frame: T) => boolean, timeoutMs = 5000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const frame = JSON.parse(await next(Math.max(1, deadline - Date.now()))) as T;
        if (match(frame)) return frame;
      }
    },
    async silentFor(ms) {
      const frame = await next(ms).catch(() => undefined);
      if (frame !== undefined) throw new Error(`expected silence, got ${frame}`);
    },
    closed(timeoutMs = 5000) {
      if (closeInfo !== undefined) return Promise.resolve(closeInfo);
      return Promise.race([
        closedPromise,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs),
        ),
      ]);
    },
    send(text) {
      ws.send(text);
    },
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await closedPromise;
    },
  };
}

/** The HTTP answer to an upgrade the server refused: status, headers and body. */
export function refusedUpgrade(
  url: string,
  options: ClientOptions = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  opened: boolean;
}> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => {
      ws.terminate();
      resolve({ status: 101, headers: {}, body: '', opened: true });
    });
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          opened: false,
        }),
      );
    });
    ws.once('error', reject);
  });
}

/** ws:// URL of a test app. */
export function wsUrl(httpUrl: string, path: string): string {
  return httpUrl.replace(/^http/, 'ws') + path;
}
