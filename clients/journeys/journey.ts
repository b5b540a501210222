/**
 * The journey every generated client walks, step by step, against a running
 * server: the steps, their fixtures and a recorder. A step runs only when the
 * ones before it passed (each needs what they created); the result is printed
 * as one `JOURNEY {...}` line that `npm run clients:check` reads.
 * Nothing here talks HTTP: each step calls the generated client.
 */
import { randomBytes } from 'node:crypto';
import { STEPS } from './steps.js';
import type { Step } from './steps.js';

export type Outcome = { step: Step; ok: true } | { step: Step; ok: false; error: string };

/** The base URL (first argument) and values unique to this run, so runs never collide. */
export function fixture(generator: string) {
  const baseUrl = process.argv[2];
  if (baseUrl === undefined) throw new Error(`usage: ${generator}.ts <base URL>`);
  const tag = `${generator.replace(/[^a-z]/g, '')}${randomBytes(4).toString('hex')}`;
  // Every byte value, after a prefix no format sniffer knows: a client that decodes it as text changes it.
  const bytes = new Uint8Array([
    ...Buffer.from('clients:check bytes '),
    ...Array.from({ length: 256 }, (_, i) => i),
  ]);
  return {
    baseUrl,
    email: `${tag}@example.com`,
    password: `Journey-${tag}-1`,
    fullName: `Journey ${generator}`,
    itemName: `Lamp ${tag}`,
    /** What listItems is searched for (3 to 50 characters). */
    search: tag,
    idempotencyKey: `journey-${tag}`,
    file: new File([bytes], `${tag}.bin`, { type: 'application/octet-stream' }),
    bytes,
  };
}

/** Throws with `message` unless `condition` holds. */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

export async function sameBytes(blob: Blob, expected: Uint8Array): Promise<boolean> {
  const actual = new Uint8Array(await blob.arrayBuffer());
  return actual.length === expected.length && actual.every((byte, i) => byte === expected[i]);
}

/** Polls `attempt` until it returns a value (background jobs write the activity log a moment later). */
export async function eventually<T>(attempt: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not there after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** What a client threw, in one line: an Error's message, or a response's status. */
function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'status' in error) return `HTTP ${String(error.status)}`;
  return String(error);
}

export class Journey {
  readonly outcomes: Outcome[] = [];

  constructor(readonly generator: string) {}

  /** Runs `name` unless an earlier step failed (then it is not recorded: the report shows it as not run). */
  async step(name: Step, run: () => Promise<void>): Promise<void> {
    if (this.outcomes.some((outcome) => !outcome.ok)) return;
    try {
      await run();
      this.outcomes.push({ step: name, ok: true });
    } catch (error) {
      this.outcomes.push({ step: name, ok: false, error: describe(error) });
    }
  }

  /** Prints the outcomes for clients:check and sets the exit code. */
  finish(): void {
    console.log(`JOURNEY ${JSON.stringify({ generator: this.generator, outcomes: this.outcomes })}`);
    const passed = this.outcomes.filter((outcome) => outcome.ok).length;
    process.exitCode = passed === STEPS.length ? 0 : 1;
  }
}
