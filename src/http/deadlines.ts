/**
 * The handler timeout of every request in flight, on one timer.
 *
 * Every operation with a timeout has the same one, so deadlines fall in the
 * order requests were admitted: a Map (which keeps insertion order) is the
 * queue, its first entry the next to expire. Admitting and settling a request
 * is a Map set and delete. A timer per request would cost far more: Node keeps
 * one list per duration and drops it when its last timer is cleared, so at
 * low concurrency every request would build a list, put it in the timer heap
 * and start a libuv timer, then tear it all down again.
 *
 * The timer is unref'd: a deadline never keeps the process alive on its own
 * (the request it guards does that through its socket).
 */

export class Deadlines<T> {
  /** Waiting entries, earliest deadline first, with the performance.now() they expire at. */
  private readonly waiting = new Map<T, number>();
  private timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    /** How long each entry may wait, in ms (> 0). */
    readonly ms: number,
    /** Called once for an entry still waiting when its time is up. */
    private readonly expire: (entry: T) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ms > 0)) throw new RangeError(`a deadline must be positive, not ${ms}`);
  }

  /** Starts the clock for `entry`; it expires in `ms` unless settled first. */
  add(entry: T): void {
    this.waiting.set(entry, this.now() + this.ms);
    if (this.timer === undefined) this.arm(this.ms);
  }

  /** The entry finished in time (or was never added): it will not expire. */
  settle(entry: T): void {
    this.waiting.delete(entry);
  }

  /** Entries waiting now. */
  get size(): number {
    return this.waiting.size;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => {
      this.fire();
    }, ms);
    this.timer.unref();
  }

  /** Expires every entry whose time is up, then waits for the next one, if any. */
  private fire(): void {
    this.timer = undefined;
    const now = this.now();
    const due: T[] = [];
    for (const [entry, at] of this.waiting) {
      if (at > now) {
        // Node may fire a little early against performance.now(): never less than 1 ms again.
        this.arm(Math.max(1, Math.ceil(at - now)));
        break;
      }
      this.waiting.delete(entry);
      due.push(entry);
    }
    // The timer is set again before any entry runs, and every due entry runs even if one throws
    // (the first error is thrown again afterwards), so a bad expiry cannot stop the others.
    let failure: { error: unknown } | undefined;
    for (const entry of due) {
      try {
        this.expire(entry);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
  }
}
