/**
 * A tiny SMTP server for tests: speaks just enough of RFC 5321 for nodemailer
 * (EHLO, MAIL, RCPT, DATA, QUIT; no TLS, no AUTH) and keeps what it received.
 */
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedMail {
  readonly from: string;
  readonly to: string[];
  /** The message as sent: headers and body. */
  readonly data: string;
}

export interface SmtpSink {
  readonly url: string;
  readonly messages: ReceivedMail[];
  close(): Promise<void>;
}

function session(socket: Socket, messages: ReceivedMail[]): void {
  let buffer = '';
  let from = '';
  let to: string[] = [];
  let data: string[] | undefined;
  const reply = (line: string): void => {
    socket.write(`${line}\r\n`);
  };
  const command = (line: string): void => {
    if (data !== undefined) {
      if (line === '.') {
        messages.push({ from, to, data: data.join('\n') });
        data = undefined;
        reply('250 2.0.0 queued');
      } else data.push(line.startsWith('..') ? line.slice(1) : line);
      return;
    }
    const verb = line.slice(0, 4).toUpperCase();
    if (verb === 'EHLO') reply('250-sink\r\n250 8BITMIME');
    else if (verb === 'HELO' || verb === 'NOOP' || verb === 'RSET') reply('250 OK');
    else if (verb === 'MAIL') {
      from = /<([^>]*)>/.exec(line)?.[1] ?? '';
      to = [];
      reply('250 OK');
    } else if (verb === 'RCPT') {
      to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
      reply('250 OK');
    } else if (verb === 'DATA') {
      data = [];
      reply('354 end with .');
    } else if (verb === 'QUIT') {
      reply('221 bye');
      socket.end();
    } else reply('502 not implemented');
  };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let end = buffer.indexOf('\r\n');
    while (end !== -1) {
      command(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\r\n');
    }
  });
  socket.on('error', () => undefined);
  reply('220 sink ESMTP');
}

/**
 * Starts the sink on 127.0.0.1 and a free port.
 * @example const sink = await startSmtpSink(); startApp({ SMTP_URL: sink.url });
 */
export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    session(socket, messages);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
