/** The first admin: created, or promoted when the account exists. Used by `npm run create-admin`. */
import type { Validation } from '../contract/validation.js';
import { findUserByEmail, insertUser, promoteToAdmin } from '../db/repos/users.repo.js';
import type { AppDb } from '../db/schema.js';
import type { PasswordHasher } from './passwords.js';

export type AdminResult = 'created' | 'promoted' | 'already-admin';

/**
 * Makes `email` an admin. A new account needs a password that passes the
 * contract's Password rules; an existing one keeps its password.
 */
export async function ensureAdmin(
  db: AppDb,
  passwords: PasswordHasher,
  validation: Validation,
  account: { email: string; password: string | undefined; fullName: string | undefined },
): Promise<AdminResult> {
  // Called as plain predicates: Ajv's type guard would narrow the failing value to `never`.
  const isEmail: (value: unknown) => boolean = validation.schema('/components/schemas/Email');
  const isPassword: (value: unknown) => boolean = validation.schema('/components/schemas/Password');
  if (!isEmail(account.email)) throw new Error(`"${account.email}" is not a valid email address`);
  const existing = await findUserByEmail(db, account.email);
  if (existing !== undefined) {
    if (existing.role === 'admin') return 'already-admin';
    await promoteToAdmin(db, account.email);
    return 'promoted';
  }
  if (account.password === undefined) throw new Error('a new admin account needs --password');
  if (!isPassword(account.password)) {
    throw new Error('the password needs 8 to 100 characters with a digit and an uppercase letter');
  }
  await insertUser(db, {
    email: account.email,
    full_name: account.fullName ?? 'Administrator',
    age: null,
    role: 'admin',
    password_hash: await passwords.hash(account.password),
  });
  return 'created';
}
