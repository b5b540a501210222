/** Every job kind the workers run, by name: one file per kind. */
import type { JobHandlers } from '../runner.js';
import { ACTIVITY, writeActivity } from './activity.js';
import { WELCOME_EMAIL, sendWelcomeEmail } from './welcome-email.js';

export const jobHandlers: JobHandlers = {
  [WELCOME_EMAIL]: sendWelcomeEmail,
  [ACTIVITY]: writeActivity,
};
