/** The handler timeouts of requests in flight, kept on one timer. */
import { expect } from 'chai';
import { Deadlines } from '../../src/http/deadlines.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Deadlines whose entries are names, each written to `log` when it expires. */
function named(ms: number, log: string[], now?: () => number): Deadlines<string> {
  return new Deadlines<string>(ms, (name) => log.push(name), now);
}

describe('Deadlines', () => {
  it('expires entries that are still waiting, in the order they were added', async () => {
    const log: string[] = [];
    const deadlines = named(30, log);
    deadlines.add('a');
    await sleep(10);
    deadlines.add('b');
    expect(log).to.deep.equal([]);
    await sleep(80);
    expect(log).to.deep.equal(['a', 'b']);
    expect(deadlines.size).to.equal(0);
  });

  it('never expires an entry that settled in time, and still expires the ones after it', async () => {
    const log: string[] = [];
    const deadlines = named(30, log);
    deadlines.add('a');
    deadlines.add('b');
    deadlines.settle('a');
    await sleep(80);
    expect(log).to.deep.equal(['b']);
  });

  it('does not expire an entry early when the timer was set for an earlier one', async () => {
    let clock = 0;
    const log: string[] = [];
    const deadlines = named(40, log, () => clock);
    deadlines.add('a');
    clock = 30;
    deadlines.add('b'); // due at 70 by the clock
    clock = 45;
    await sleep(70); // the timer set for 'a' has fired by now
    expect(log).to.deep.equal(['a']);
    clock = 75;
    await sleep(60); // it waited again, for at least the 25 ms 'b' had left
    expect(log).to.deep.equal(['a', 'b']);
  });

  it('starts its timer again for entries added after the queue ran empty', async () => {
    const log: string[] = [];
    const deadlines = named(20, log);
    deadlines.add('a');
    await sleep(60);
    deadlines.add('b');
    await sleep(60);
    expect(log).to.deep.equal(['a', 'b']);
  });

  it('keeps the deadlines of the others when one expiry throws', async () => {
    const log: string[] = [];
    const deadlines = new Deadlines<string>(20, (name) => {
      if (name === 'broken') throw new Error('broken');
      log.push(name);
    });
    const errors: unknown[] = [];
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    const onError = (error: unknown): void => {
      errors.push(error);
    };
    process.on('uncaughtException', onError);
    try {
      deadlines.add('broken');
      deadlines.add('b');
      await sleep(40);
      deadlines.add('c');
      await sleep(60);
    } finally {
      process.off('uncaughtException', onError);
      for (const listener of listeners) process.on('uncaughtException', listener);
    }
    expect(errors).to.have.length(1);
    expect(log).to.deep.equal(['b', 'c']);
  });

  it('refuses a deadline that is not positive', () => {
    expect(() => new Deadlines(0, () => undefined)).to.throw(RangeError);
  });
});
