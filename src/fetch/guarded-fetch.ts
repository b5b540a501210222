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
 *   and body, and a body size cap.
 */
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
}

/** One URL's outcome: the contract's FetchResult, so the shape cannot drift from openapi.yaml. */
export type FetchOutcome = components['schemas']['FetchResult'];

/** A failure whose message is safe to show the caller. */
class FetchFailure extends Error {}

const TIMEOUT = 'Request timeout';

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

/** JSON when the response says so, text otherwise. */
function decode(body: Buffer, contentType: string | undefined): unknown {
  const text = body.toString('utf8');
  if (contentType !== undefined && /\bjson\b/i.test(contentType)) {
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
 * Fetches one URL within `timeoutMs`; never throws: failures are the result's `error`.
 * @example const result = await guardedFetch('https://api.example.com/a', 2000, policy);
 */
export async function guardedFetch(
  raw: string,
  timeoutMs: number,
  policy: FetchPolicy,
): Promise<FetchOutcome> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const signal = AbortSignal.timeout(timeoutMs);
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
    const data = decode(body, response.headers['content-type']);
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
 * Fetches every URL, at most `concurrency` at once; results in input order.
 * @example const results = await fetchAll(urls, { timeoutMs: 5000, concurrency: 5 }, policy);
 */
export async function fetchAll(
  urls: readonly string[],
  options: { readonly timeoutMs: number; readonly concurrency: number },
  policy: FetchPolicy,
): Promise<FetchOutcome[]> {
  const results = new Array<FetchOutcome>(urls.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < urls.length) {
      const index = next;
      next += 1;
      results[index] = await guardedFetch(urls[index] ?? '', options.timeoutMs, policy);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, urls.length) }, worker));
  return results;
}
