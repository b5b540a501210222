/**
 * The `welcome_email` job. Idempotent where it can be: the email is recorded
 * in sent_emails under `welcome:<user id>` once the SMTP server accepted it,
 * and a re-run that finds the record sends nothing. Only a crash between the
 * server's acceptance and that record can send it twice (at-least-once).
 */
import { findUserById } from '../../db/repos/users.repo.js';
import { emailWasSent, recordEmailSent } from '../../db/repos/jobs.repo.js';
import type { Db, NewJob } from '../queue.js';
import { enqueueAll } from '../queue.js';
import type { JobHandler } from '../runner.js';

export const WELCOME_EMAIL = 'welcome_email';

/**
 * Queues the welcome email for a new account, in the caller's transaction.
 * @example await enqueueWelcomeEmail(trx, user.id);
 */
export async function enqueueWelcomeEmail(trx: Db, userId: number): Promise<void> {
  await enqueueAll(trx, [welcomeEmailJob(userId)]);
}

/** The job enqueueWelcomeEmail adds (keyed: one per account), for enqueueAll. */
export function welcomeEmailJob(userId: number): NewJob {
  return { kind: WELCOME_EMAIL, payload: { user_id: userId }, key: `welcome_email:${userId}` };
}

export const sendWelcomeEmail: JobHandler = async (payload, { job, db, log, mailer }) => {
  const userId = payload['user_id'];
  if (typeof userId !== 'number') throw new Error('welcome_email job: payload needs user_id');
  const key = `welcome:${userId}`;
  if (await emailWasSent(db, key)) return;
  // Read now, not at enqueue time: a changed address gets the mail, a deleted account none.
  const user = await findUserById(db, userId);
  if (user === undefined) {
    log.info({ jobId: job.id, userId }, 'welcome_email: the account is gone; nothing to send');
    return;
  }
  await mailer.send({
    to: user.email,
    subject: 'Welcome!',
    text: `Hello ${user.full_name},\n\nWelcome! Your account (${user.email}) is ready.\n`,
  });
  await recordEmailSent(db, key, user.email, job.id);
};
