/** The full collection the server runs once start-up is over. */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import type { PerformanceEntry } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import { collectStartupGarbage } from '../../src/heap.js';

interface GcDetail {
  readonly kind: number;
  readonly flags: number;
}

async function gcEntriesDuring(work: () => void): Promise<GcDetail[]> {
  const entries: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  work();
  // Entries are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  // A gc entry carries its kind and flags in `detail`.
  return entries.map((entry) => (entry as PerformanceEntry & { detail: GcDetail }).detail);
}

describe('collectStartupGarbage', () => {
  it('runs one forced full collection and says how long it took', async () => {
    let ms: number | undefined;
    const details = await gcEntriesDuring(() => {
      ms = collectStartupGarbage();
    });
    const forcedFull = details.filter(
      (detail) =>
        detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR &&
        (detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0,
    );
    expect(forcedFull).to.have.length(1);
    expect(ms).to.be.a('number').and.to.be.greaterThan(0);
  });

  it('leaves no gc() global for code that runs later', () => {
    collectStartupGarbage();
    expect(runInNewContext('typeof gc')).to.equal('undefined');
    expect(typeof (globalThis as { gc?: unknown }).gc).to.equal('undefined');
  });
});
