/**
 * argon2id password hashing (@node-rs/argon2: a prebuilt binary that loads
 * here, unlike argon2 0.45's; hashing runs on libuv's thread pool, so logins
 * do not block the event loop).
 */
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import type { Options } from '@node-rs/argon2';
import type { Config } from '../config.js';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /**
   * Checks a password against a stored hash, or against a dummy hash when
   * there is none, so an unknown account costs the same time as a wrong password.
   */
  verify(stored: string | undefined, password: string): Promise<{ ok: boolean; needsRehash: boolean }>;
}

type Params = Config['argon2'];

/** Reads m, t and p from a PHC string such as `$argon2id$v=19$m=19456,t=2,p=1$…`. */
function paramsOf(stored: string): Params | undefined {
  const found = /^\$argon2id\$v=\d+\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
  if (found === null) return undefined;
  return { memoryKiB: Number(found[1]), timeCost: Number(found[2]), parallelism: Number(found[3]) };
}

export function createPasswordHasher(params: Params): PasswordHasher {
  const options: Options = {
    // The package declares its Algorithm enum `const`, which verbatimModuleSyntax cannot import; 2 is Argon2id.
    algorithm: 2,
    memoryCost: params.memoryKiB,
    timeCost: params.timeCost,
    parallelism: params.parallelism,
  };
  let dummy: Promise<string> | undefined;
  const isCurrent = (stored: string): boolean => {
    const used = paramsOf(stored);
    return (
      used !== undefined &&
      used.memoryKiB === params.memoryKiB &&
      used.timeCost === params.timeCost &&
      used.parallelism === params.parallelism
    );
  };
  return {
    hash: (password) => hash(password, options),
    async verify(stored, password) {
      if (stored === undefined) {
        dummy ??= hash(randomBytes(16).toString('hex'), options);
        await verify(await dummy, password).catch(() => false);
        return { ok: false, needsRehash: false };
      }
      const ok = await verify(stored, password).catch(() => false);
      return { ok, needsRehash: ok && !isCurrent(stored) };
    },
  };
}
