/**
 * Rate limits from the contract: each operation names a policy
 * (`x-rate-limit`), and each client (its account when signed in, its address
 * otherwise) gets `limit` requests per window under it. rate-limiter-flexible
 * does the counting: `shared` policies in Redis when REDIS_URL is set, else in
 * PostgreSQL on a real server (both shared by every server process), and in
 * memory for `process` policies and on the embedded database, which has one process.
 */
import {
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
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
  readonly store:
    | { readonly kind: 'postgres'; readonly client: RateLimitStoreClient }
    | { readonly kind: 'redis'; readonly client: Redis }
    | undefined;
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
      const shared = policy.scope === 'process' ? undefined : options.store;
      // While the store is away, each process counts on its own rather than failing requests;
      // a client over the limit is refused from this process's memory until its window ends,
      // so a flood past the limit costs no round trip to the store per request.
      const guards = {
        insuranceLimiter: new RateLimiterMemory(settings),
        inMemoryBlockOnConsumed: limit + 1,
      };
      const limiter =
        shared === undefined
          ? new RateLimiterMemory(settings)
          : shared.kind === 'redis'
            ? new RateLimiterRedis({
                ...settings,
                ...guards,
                storeClient: shared.client,
                rejectIfRedisNotReady: true,
              })
            : new RateLimiterPostgres({
                ...settings,
                ...guards,
                storeClient: shared.client,
                storeType: 'client',
                tableName: 'rate_limits',
                tableCreated: true,
                // Expired rows are pruned by the app's own sweep (pruneRateLimits).
                clearExpiredByTimeout: false,
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
          'rate-limited',
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
