/** Background work the realtime server starts and must wait for on shutdown. */
import type { Logger } from 'pino';

export interface Tasks {
  /** Keeps a background promise until it settles, so shutdown can wait for it; never rejects. */
  track(work: Promise<unknown>, what: string): void;
  /** Resolves when everything tracked so far has settled. */
  settled(): Promise<void>;
}

export function createTasks(log: Logger): Tasks {
  const pending = new Set<Promise<unknown>>();
  return {
    track(work, what) {
      const settled = work.catch((err: unknown) => log.error({ err }, what));
      pending.add(settled);
      void settled.finally(() => pending.delete(settled));
    },
    async settled() {
      await Promise.allSettled([...pending]);
    },
  };
}
