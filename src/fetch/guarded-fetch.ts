/**
 * The outbound fetch behind POST /fetch-multiple, guarded against SSRF:
 *
 * - the host must be allowed by configuration (FETCH_ALLOWED_HOSTS) before
 *   anything else happens, so a refused URL never causes a DNS query or a
 *   connection;
 * - the address is checked *at connect time*: node:http connects to what our
 *   `lookup` hands it, and that lookup drops refused addresses, so the address
 *   checked is the address connected to (no DNS rebinding between check and
 *   use). An IP literal never goes through `lookup`, so it is checked first;
 * - redirects are not followed (a 3xx is reported as is), so a redirect can
 *   never lead anywhere unchecked;
 * - each URL has its own deadline (AbortSignal.timeout) over connect, headers
 *   and body, and a body size cap; the whole batch has one more deadline, after
 *   which every URL not done is a timeout;
 * - remote data never reaches a recursive algorithm unchecked: JSON nesting is
 *   measured on the text by a loop before parsing.
 */
import { measureJsonText } from '../contract/json-shape.js';
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { AddressPolicy } from './address-policy.js';
import type { components } from '../../generated/openapi.js';

export interface FetchPolicy {
  readonly hostAllowed: (host: string) => boolean;
  readonly addressAllowed: AddressPolicy;
  /** Largest body read; more is an error. */
  readonly maxBytes: number;
  /** Deepest JSON nesting accepted; deeper is an error. */
  readonly maxJsonDepth: number;
}

/** One URL's outcome: the contract's FetchResult, so the shape cannot drift from openapi.yaml. */
export type FetchOutcome = components['schemas']['FetchResult'];

/** A failure whose message is safe to show the caller. */
class FetchFailure extends Error {}

const TIMEOUT = 'Request timeout';
const TOO_DEEP = 'Response nested too deeply';
const UNREPRESENTABLE = 'Response cannot be represented';

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** dns.lookup that only ever returns allowed addresses, so only those are connected to. */
function guardedLookup(allowed: AddressPolicy) {
  return (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error !== null) {
        callback(error, []);
        return;
      }
      const usable = addresses.filter((entry) => allowed(entry.address));
      const first = usable[0];
      if (first === undefined) {
        callback(Object.assign(new FetchFailure('Address not allowed'), { code: 'EREFUSEDADDRESS' }), []);
        return;
      }
      if (options.all === true) callback(null, usable);
      else callback(null, first.address, first.family);
    });
  };
}

/** The error text for a failed request: ours as is, system errors by code only (no internals). */
function describe(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) return TIMEOUT;
  if (error instanceof FetchFailure) return error.message;
  const code = (error as { code?: unknown } | null)?.code;
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause instanceof FetchFailure) return cause.message;
  if (code === 'ECONNREFUSED') return 'Connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'Host not found';
  if (code === 'ECONNRESET') return 'Connection reset';
  return typeof code === 'string' ? `Connection failed (${code})` : 'Connection failed';
}

/** Reads the body up to maxBytes; throws FetchFailure beyond it. */
async function readBody(response: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw new FetchFailure('Response too large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new FetchFailure('Response too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * True when the JSON text nests arrays and objects deeper than `max`: the
 * request bodies' one-pass byte scan (contract/json-shape.ts), so no input can
 * exhaust the stack here.
 */
export function nestedDeeperThan(text: string | Uint8Array, max: number): boolean {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  return measureJsonText(bytes, max, Number.POSITIVE_INFINITY).depth > max;
}

/** JSON when the response says so, text otherwise. */
function decode(body: Buffer, contentType: string | undefined, maxDepth: number): unknown {
  const text = body.toString('utf8');
  if (contentType !== undefined && /\bjson\b/i.test(contentType)) {
    if (nestedDeeperThan(body, maxDepth)) throw new FetchFailure(TOO_DEEP);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new FetchFailure('Response is not valid JSON');
    }
  }
  return text;
}

/** Sends a GET and resolves with the response's head (the body is read by the caller). */
function request(url: URL, policy: FetchPolicy, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(url, {
      method: 'GET',
      signal,
      agent: false, // a fresh connection per URL, so every connection passes the lookup
      lookup: guardedLookup(policy.addressAllowed),
      headers: { accept: 'application/json, text/plain;q=0.9, */*;q=0.5', 'user-agent': 'fastapi-guide-ts' },
    });
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
}

/**
 * Fetches one URL within `timeoutMs` (or until `deadline` aborts); never throws:
 * failures are the result's `error`.
 * @example const result = await guardedFetch('https://api.example.com/a', 2000, policy);
 */
export async function guardedFetch(
  raw: string,
  timeoutMs: number,
  policy: FetchPolicy,
  deadline?: AbortSignal,
): Promise<FetchOutcome> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const own = AbortSignal.timeout(timeoutMs);
  const signal = deadline === undefined ? own : AbortSignal.any([own, deadline]);
  let status: number | undefined;
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FetchFailure('Scheme not allowed');
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    if (!policy.hostAllowed(host)) throw new FetchFailure('Host not allowed');
    if (isIP(host) !== 0 && !policy.addressAllowed(host)) throw new FetchFailure('Address not allowed');
    const response = await request(url, policy, signal);
    status = response.statusCode ?? 0;
    if (status >= 300 && status < 400) {
      response.destroy();
      return { url: raw, ok: false, status, error: 'Redirect not followed', elapsed_ms: elapsed() };
    }
    const body = await readBody(response, policy.maxBytes).finally(() => response.destroy());
    const ok = status >= 200 && status < 300;
    // An empty body (204, or nothing sent) has no data rather than invalid JSON.
    if (body.length === 0) return { url: raw, ok, status, elapsed_ms: elapsed() };
    const data = decode(body, response.headers['content-type'], policy.maxJsonDepth);
    return { url: raw, ok, status, data, elapsed_ms: elapsed() };
  } catch (error) {
    const outcome: FetchOutcome = {
      url: raw,
      ok: false,
      error: describe(error, signal),
      elapsed_ms: elapsed(),
    };
    if (status !== undefined) outcome.status = status;
    return outcome;
  }
}

/**
 * The outcome as is when it can be sent (serialisable, and valid for `fits`,
 * the contract's FetchResult schema); otherwise an error for this URL alone,
 * so one odd response never fails the whole reply.
 */
export function representable(outcome: FetchOutcome, fits: (value: unknown) => boolean): FetchOutcome {
  try {
    JSON.stringify(outcome);
    if (fits(outcome)) return outcome;
  } catch {
    // A value JSON cannot write (a cycle, a stack overflow) is as unrepresentable as an invalid one.
  }
  return { url: outcome.url, ok: false, error: UNREPRESENTABLE, elapsed_ms: outcome.elapsed_ms };
}

export interface FetchAllOptions {
  /** Each URL's own limit. */
  readonly timeoutMs: number;
  /** URLs fetched at once. */
  readonly concurrency: number;
  /** The whole batch's limit (0: none): URLs queued or running then are timeouts. */
  readonly deadlineMs: number;
}

/**
 * Fetches every URL, at most `concurrency` at once, within `deadlineMs` for the
 * whole batch; results in input order. Never throws.
 * @example const results = await fetchAll(urls, { timeoutMs: 5000, concurrency: 5, deadlineMs: 18000 }, policy);
 */
export async function fetchAll(
  urls: readonly string[],
  options: FetchAllOptions,
  policy: FetchPolicy,
): Promise<FetchOutcome[]> {
  const results = new Array<FetchOutcome | undefined>(urls.length).fill(undefined);
  const started = new Array<number | undefined>(urls.length).fill(undefined);
  const stop = new AbortController();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < urls.length && !stop.signal.aborted) {
      const index = next;
      next += 1;
      started[index] = performance.now();
      results[index] = await guardedFetch(urls[index] ?? '', options.timeoutMs, policy, stop.signal);
    }
  };
  const workers = Promise.all(Array.from({ length: Math.min(options.concurrency, urls.length) }, worker));
  let timer: NodeJS.Timeout | undefined;
  if (options.deadlineMs > 0) {
    // The race guarantees the deadline even if a fetch were slow to notice its abort.
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        stop.abort();
        resolve();
      }, options.deadlineMs);
    });
    await Promise.race([workers, deadline]);
    clearTimeout(timer);
    // Fetches aborted just now settle within a turn or two; give them that chance to report their own state.
    await Promise.race([workers, new Promise((resolve) => setTimeout(resolve, 20))]);
  } else {
    await workers;
  }
  return urls.map((url, index) => {
    const result = results[index];
    if (result !== undefined) return result;
    const since = started[index];
    const elapsed = since === undefined ? 0 : Math.round(performance.now() - since);
    return { url, ok: false, error: TIMEOUT, elapsed_ms: elapsed };
  });
}
