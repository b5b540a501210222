/** Handlers for the `auth` tag: the OAuth2 password grant. */
import type { ApiError } from '../contract/errors.js';
import type { Fail, Input, Reply } from '../contract/types.js';
import { findUserByEmail, updateUser } from '../db/repos/users.repo.js';
import type { Deps } from '../deps.js';
import { recordActivity } from '../jobs/index.js';

const loginFailed = (fail: Fail<'login'>): ApiError =>
  fail(401, 'login-failed', 'Incorrect email or password', { headers: { 'WWW-Authenticate': 'Bearer' } });

export async function login(input: Input<'login'>, deps: Deps): Promise<Reply<'login'>> {
  const { username: email, password } = input.body;
  const { passwords, tokens, throttle } = deps.auth;
  // Counted before the password is checked: parallel guesses cannot all pass a check made before any failed.
  await throttle.reserve(email, input.clientIp);

  const user = await findUserByEmail(deps.db, email);
  // Verified even when there is no such account (against a dummy hash), so both answers take as long.
  const { ok, needsRehash } = await passwords.verify(user?.password_hash, password);
  if (user === undefined || !ok || !user.is_active) throw loginFailed(input.fail);
  await throttle.succeeded(email, input.clientIp);
  // No write of ours to join here: the job row is the write.
  await recordActivity(deps.db, user.id, 'login', { ip: input.clientIp });
  if (needsRehash) {
    // Hashed with older parameters: upgrade now that the password is known. Best effort.
    await updateUser(deps.db, user.id, { password_hash: await passwords.hash(password) }).catch(
      (error: unknown) => {
        deps.log.warn({ err: error, userId: user.id }, 'password rehash failed');
      },
    );
  }
  const { token, expiresIn } = tokens.issue(user.id);
  return {
    status: 200,
    headers: { 'Cache-Control': 'no-store' },
    body: { access_token: token, token_type: 'bearer', expires_in: expiresIn },
  };
}
