import { expect } from 'chai';
import { createRateLimits } from '../../src/auth/rate-limits.js';
import { ApiError } from '../../src/contract/errors.js';
import type { OperationSpec, RateLimitPolicy, Spec } from '../../src/contract/spec.js';
import type { RateLimitStoreClient } from '../../src/db/repos/rate-limits.repo.js';

const policy: RateLimitPolicy = { name: 'default', limit: 3, windowSeconds: 60, scope: 'shared' };
const spec = { operations: [{ rateLimit: policy } as OperationSpec] } as unknown as Spec;

/** Counts like the PostgreSQL table would, and how many statements reached it. */
function countingStore(): RateLimitStoreClient & { queries: number } {
  const points = new Map<string, number>();
  const store = {
    queries: 0,
    async query({ values }: { text: string; values?: readonly unknown[] }) {
      store.queries += 1;
      const key = String(values?.[0]);
      const used = (points.get(key) ?? 0) + Number(values?.[1] ?? 1);
      points.set(key, used);
      return { rows: [{ points: used, expire: Date.now() + 60_000 }] };
    },
  };
  return store;
}

describe('rate limits with a shared store', () => {
  it('refuses a client past its limit from memory, without asking the store again this window', async () => {
    const store = countingStore();
    const limits = createRateLimits(spec, { factor: 1, store: { kind: 'postgres', client: store } });
    for (let i = 0; i < 3; i++) await limits.consume(policy, 'ip:10.0.0.1');
    for (let i = 0; i < 50; i++) {
      const refused = await limits.consume(policy, 'ip:10.0.0.1').then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).to.be.instanceOf(ApiError);
      expect((refused as ApiError).status).to.equal(429);
    }
    // Three counted, one refused by the store; the other 49 never reached it.
    expect(store.queries).to.equal(4);
    // Another client still has its own quota.
    expect(await limits.consume(policy, 'ip:10.0.0.2')).to.include({
      'RateLimit-Policy': '"default";q=3;w=60',
    });
  });
});
