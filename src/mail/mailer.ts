/**
 * Outgoing mail. With SMTP_URL set, nodemailer sends over SMTP; without it the
 * message goes to the log, so development needs no mail server.
 */
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import type { Config } from '../config.js';

export interface Mail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

export interface Mailer {
  /** Resolves once the message is accepted (by the SMTP server, or the log); rejects otherwise. */
  send(mail: Mail): Promise<void>;
  /** Closes pooled SMTP connections. */
  close(): void;
}

/**
 * The configured mailer.
 * @example await createMailer(config.mail, log).send({ to: 'ada@example.com', subject: 'Hi', text: '…' });
 */
export function createMailer(config: Config['mail'], log: Logger): Mailer {
  if (config.smtpUrl === undefined) {
    return {
      async send(mail) {
        log.info({ mail: { from: config.from, ...mail } }, 'email (SMTP_URL is not set: logged, not sent)');
      },
      close() {},
    };
  }
  // Bounded waits: a dead SMTP server fails the job (which is retried), never hangs it.
  const transport = nodemailer.createTransport({
    url: config.smtpUrl,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(mail) {
      const info = await transport.sendMail({ from: config.from, ...mail });
      log.info({ to: mail.to, subject: mail.subject, messageId: info.messageId }, 'email sent');
    },
    close() {
      transport.close();
    },
  };
}
