/**
 * Workers of the durable queue, one runner per process. The runner claims due
 * jobs in short transactions (`FOR UPDATE SKIP LOCKED`, see jobs.repo.ts),
 * runs up to `concurrency` at once, and records each outcome: succeeded,
 * queued again after an exponential backoff with jitter, or failed with its
 * last error when no attempts are left. A job whose process died mid-run is
 * claimed again when its lease runs out, so delivery is at least once and
 * every handler must be idempotent.
 *
 * Correct with polling alone: an idle runner looks for due jobs every
 * `pollIntervalMs`, and at once after a job of its own finishes.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import * as jobs from '../db/repos/jobs.repo.js';
import type { AppDb, JobRow } from '../db/schema.js';
import type { Mailer } from '../mail/mailer.js';
import { isDatabaseUnavailable } from '../db/errors.js';

/** What a job handler may use. */
export interface JobContext {
  readonly job: JobRow;
  readonly db: AppDb;
  readonly log: Logger;
  readonly mailer: Mailer;
  /** Aborts when the lease is about to run out; the attempt then counts as failed. */
  readonly signal: AbortSignal;
}

/** Runs one job; throwing (or rejecting) fails this attempt. Must be idempotent. */
export type JobHandler = (payload: Readonly<Record<string, unknown>>, context: JobContext) => Promise<void>;
export type JobHandlers = Readonly<Record<string, JobHandler>>;

export interface JobRunner {
  readonly workerId: string;
  /** Starts the polling loop (once). */
  start(): void;
  /** Looks for due jobs now instead of at the next poll. */
  wake(): void;
  /**
   * Stops claiming, then waits for running jobs up to `shutdownTimeoutMs`;
   * jobs still running after that are left to their lease (retried elsewhere).
   */
  stop(): Promise<void>;
  /** Jobs running in this process now. */
  readonly active: number;
}

export interface RunnerOptions {
  readonly db: AppDb;
  readonly log: Logger;
  readonly mailer: Mailer;
  readonly config: Config['jobs'];
  readonly handlers: JobHandlers;
}

/** Delay before attempt `attempts + 1`: base × 2^(attempts-1), capped, then "equal jitter" (½..1 of it). */
export function backoffMs(
  config: Pick<Config['jobs'], 'backoffBaseMs' | 'backoffMaxMs'>,
  attempts: number,
): number {
  const exponential = config.backoffBaseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 30);
  const capped = Math.min(config.backoffMaxMs, exponential);
  return Math.round(capped / 2 + (Math.random() * capped) / 2);
}

/** How often the housekeeping queries (exhausted leases, pruning) run at most. */
const HOUSEKEEPING_MS = 60_000;
const MAX_ERROR_LENGTH = 2000;

function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}

/**
 * A runner over the queue in `db`.
 * @example const runner = createJobRunner({ db, log, mailer, config: config.jobs, handlers: jobHandlers }); runner.start();
 */
export function createJobRunner(options: RunnerOptions): JobRunner {
  const { db, log, mailer, config, handlers } = options;
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const running = new Set<Promise<void>>();
  let started = false;
  let stopping = false;
  let loopDone: Promise<void> = Promise.resolve();
  let wakeUp: (() => void) | undefined;
  let lastHousekeeping = 0;

  // Set by a wake that came while the loop was busy claiming, so the next idle() does not sleep.
  let woken = false;
  const wake = (): void => {
    woken = true;
    wakeUp?.();
  };

  /** Sleeps for the poll interval, or less when woken. */
  const idle = (): Promise<void> =>
    new Promise((resolve) => {
      if (woken) {
        woken = false;
        resolve();
        return;
      }
      const timer = setTimeout(done, config.pollIntervalMs);
      function done(): void {
        clearTimeout(timer);
        wakeUp = undefined;
        woken = false;
        resolve();
      }
      wakeUp = done;
    });

  const housekeeping = async (): Promise<void> => {
    // As often as leases can run out (tests use short ones), at most once a minute.
    if (Date.now() - lastHousekeeping < Math.min(HOUSEKEEPING_MS, config.leaseMs)) return;
    lastHousekeeping = Date.now();
    const failed = await jobs.failExhausted(db, config.maxAttempts);
    if (failed > 0) log.warn({ failed }, 'jobs: lost attempts with no attempts left, kept as failed');
    await jobs.pruneSucceeded(db, config.keepSucceededHours);
  };

  const settle = async (job: JobRow, error: unknown): Promise<void> => {
    const mine: jobs.Held = { id: job.id, attempts: job.attempts, workerId };
    if (error === undefined) {
      if (!(await jobs.completeJob(db, mine)))
        log.warn({ jobId: job.id }, 'jobs: lease lost before completion');
      return;
    }
    const message = describeError(error);
    const limit = job.max_attempts ?? config.maxAttempts;
    if (job.attempts >= limit) {
      await jobs.failJob(db, mine, message);
      log.error(
        { jobId: job.id, kind: job.kind, attempts: job.attempts, error: message },
        'jobs: failed for good',
      );
    } else {
      const delayMs = backoffMs(config, job.attempts);
      await jobs.retryJob(db, mine, message, delayMs);
      log.warn(
        { jobId: job.id, kind: job.kind, attempts: job.attempts, delayMs, error: message },
        'jobs: will retry',
      );
    }
  };

  const runOne = async (job: JobRow): Promise<void> => {
    const handler = handlers[job.kind];
    // Ends the attempt a little before the lease does, so no other worker takes it meanwhile.
    const budget = Math.max(1, config.leaseMs - Math.min(5000, config.leaseMs / 10));
    const signal = AbortSignal.timeout(budget);
    let outcome: unknown;
    try {
      if (handler === undefined) throw new Error(`no handler for job kind "${job.kind}"`);
      const aborted = new Promise<never>((_, reject) => {
        signal.addEventListener('abort', () => reject(new Error(`timed out after ${budget} ms`)), {
          once: true,
        });
      });
      aborted.catch(() => undefined);
      await Promise.race([handler(job.payload, { job, db, log, mailer, signal }), aborted]);
    } catch (error) {
      outcome = error ?? new Error('job failed');
    }
    try {
      await settle(job, outcome);
    } catch (error) {
      // The database went away: the lease runs out and the job is claimed again.
      if (isDatabaseUnavailable(error))
        log.warn(
          { jobId: job.id, err: { message: (error as Error).message } },
          'jobs: could not record the outcome',
        );
      else log.error({ err: error, jobId: job.id }, 'jobs: could not record the outcome');
    }
  };

  const launch = (job: JobRow): void => {
    const done: Promise<void> = runOne(job).finally(() => {
      running.delete(done);
      wake();
    });
    running.add(done);
  };

  const loop = async (): Promise<void> => {
    while (!stopping) {
      const free = config.concurrency - running.size;
      let claimed = 0;
      if (free > 0) {
        try {
          await housekeeping();
          const due = await jobs.claimJobs(db, {
            workerId,
            limit: free,
            leaseMs: config.leaseMs,
            defaultMaxAttempts: config.maxAttempts,
          });
          claimed = due.length;
          for (const job of due) launch(job);
        } catch (error) {
          if (stopping) break;
          log.warn({ err: error }, 'jobs: could not claim jobs; trying again after the poll interval');
        }
      }
      // A full batch suggests more are due: claim again at once while there is room.
      if (claimed > 0 && claimed === free) continue;
      if (!stopping) await idle();
    }
  };

  return {
    workerId,
    get active() {
      return running.size;
    },
    start() {
      if (started || stopping) return;
      started = true;
      log.info(
        { workerId, concurrency: config.concurrency, pollIntervalMs: config.pollIntervalMs },
        'jobs: worker started',
      );
      loopDone = loop();
    },
    wake,
    async stop() {
      stopping = true;
      wake();
      await loopDone;
      if (running.size === 0) return;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), config.shutdownTimeoutMs);
      });
      const finished = Promise.allSettled([...running]).then(() => true);
      const allDone = await Promise.race([finished, timedOut]);
      clearTimeout(timer);
      if (!allDone) {
        log.warn({ running: running.size }, 'jobs: shutdown timeout; running jobs are left to their lease');
      }
    },
  };
}
