/**
 * Rate limits from the contract: each operation names a policy
 * (`x-rate-limit`), and each client (its account when signed in, its address
 * otherwise) gets `limit` requests per window under it. rate-limiter-flexible
 * does the counting: in PostgreSQL (shared by every server process) for
 * `shared` policies on a real server, in memory for `process` policies and on
 * the embedded database, which has one process.
 */
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { ApiError } from '../contract/errors.js';
import type { RateLimitPolicy, Spec } from '../contract/spec.js';
import type { RateLimitStoreClient } from '../db/repos/rate-limits.repo.js';

export interface RateLimits {
  /**
   * Counts one request of `client` under `policy` and returns the headers that
   * tell the client where it stands; throws a 429 ApiError (with those headers
   * and Retry-After) when it is over the limit. Undefined when limits are off.
   */
  consume(policy: RateLimitPolicy, client: string): Promise<Record<string, string> | undefined>;
}

export interface RateLimitOptions {
  /** Multiplies every policy's limit (0 turns rate limiting off). */
  readonly factor: number;
  /** The shared store; undefined counts everything in this process. */
  readonly store: RateLimitStoreClient | undefined;
}

interface Counter {
  readonly limiter: RateLimiterAbstract;
  readonly limit: number;
  readonly policyHeader: string;
}

const seconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** The client a request is counted as: its account when signed in, its address otherwise. */
export function rateLimitClient(userId: number | undefined, address: string): string {
  return userId === undefined ? `ip:${address}` : `user:${userId}`;
}

export function createRateLimits(spec: Spec, options: RateLimitOptions): RateLimits {
  const counters = new Map<string, Counter>();
  if (options.factor > 0) {
    for (const { rateLimit: policy } of spec.operations) {
      if (policy === undefined || counters.has(policy.name)) continue;
      const limit = Math.max(1, Math.round(policy.limit * options.factor));
      const settings = { points: limit, duration: policy.windowSeconds, keyPrefix: policy.name };
      const limiter =
        policy.scope === 'process' || options.store === undefined
          ? new RateLimiterMemory(settings)
          : new RateLimiterPostgres({
              ...settings,
              storeClient: options.store,
              storeType: 'client',
              tableName: 'rate_limits',
              tableCreated: true,
              // Expired rows are pruned by the app's own sweep (pruneRateLimits).
              clearExpiredByTimeout: false,
              // While the database is away, each process counts on its own rather than failing requests.
              insuranceLimiter: new RateLimiterMemory(settings),
              // A client over the limit is refused from this process's memory until its window ends:
              // a flood past the limit costs no database round trip per request.
              inMemoryBlockOnConsumed: limit + 1,
            });
      counters.set(policy.name, {
        limiter,
        limit,
        policyHeader: `"${policy.name}";q=${limit};w=${policy.windowSeconds}`,
      });
    }
  }

  return {
    async consume(policy, client) {
      const counter = counters.get(policy.name);
      if (counter === undefined) return undefined;
      try {
        const res = await counter.limiter.consume(client);
        return {
          'RateLimit-Policy': counter.policyHeader,
          RateLimit: `"${policy.name}";r=${res.remainingPoints};t=${seconds(res.msBeforeNext)}`,
        };
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        const wait = seconds(rejection.msBeforeNext);
        throw new ApiError(
          429,
          `Too many requests under the "${policy.name}" policy (${counter.limit} per ${policy.windowSeconds} s); try again in ${wait} s.`,
          {
            headers: {
              'Retry-After': String(wait),
              'RateLimit-Policy': counter.policyHeader,
              RateLimit: `"${policy.name}";r=0;t=${wait}`,
            },
          },
        );
      }
    },
  };
}
