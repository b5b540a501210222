/**
 * Collects work items for one event-loop turn, or for `windowMs` when given,
 * and runs them as one batch (e.g. one multi-row INSERT for every chat message
 * said meanwhile, then one socket write per room member for all of them).
 */
export interface Batcher<T, R> {
  add(item: T): Promise<R>;
  /** Resolves when every batch started so far has finished. */
  drain(): Promise<void>;
}

interface Pending<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/** `run` must return one result per item, in order. */
export function createBatcher<T, R>(
  run: (items: T[]) => Promise<R[]>,
  maxBatch = 500,
  windowMs = 0,
): Batcher<T, R> {
  let queue: Pending<T, R>[] = [];
  let scheduled = false;
  let timer: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<void>>();

  const flush = (): void => {
    scheduled = false;
    clearTimeout(timer);
    timer = undefined;
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(maxBatch);
      const done = run(batch.map((p) => p.item)).then(
        (results) => {
          batch.forEach((p, i) => {
            const result = results[i];
            if (result === undefined) p.reject(new Error('batch returned fewer results than items'));
            else p.resolve(result);
          });
        },
        (error: unknown) => {
          for (const p of batch) p.reject(error);
        },
      );
      inFlight.add(done);
      void done.finally(() => inFlight.delete(done));
    }
  };

  return {
    add(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          if (windowMs > 0) timer = setTimeout(flush, windowMs);
          else setImmediate(flush);
        }
      });
    },
    async drain() {
      if (scheduled) flush();
      await Promise.allSettled([...inFlight]);
    },
  };
}
