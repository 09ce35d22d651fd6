import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

/** A real SMTP server on loopback (smtp-server) that accepts one user and keeps what it receives. */
export class SmtpSink {
  readonly mails: ReceivedMail[] = [];
  private readonly server: SMTPServer;
  private port = 0;

  constructor(
    readonly user = 'mailer@arbor.test',
    readonly password = 'smtp-pass-1',
  ) {
    this.server = new SMTPServer({
      secure: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      logger: false,
      onAuth: (auth, _session, done) => {
        if (auth.username === this.user && auth.password === this.password)
          done(null, { user: auth.username });
        else done(new Error('Invalid username or password'));
      },
      onData: (stream, session, done) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          this.mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          done();
        });
      },
    });
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this.port;
  }

  /** The site's `email_config` that mails to this sink (after start). */
  siteConfig(): Record<string, unknown> {
    return {
      host: '127.0.0.1',
      port: this.port,
      tls: false,
      access_key: this.user,
      access_secret: this.password,
      sender: 'noreply@arbor.test',
    };
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The email_token of the last link mailed to an address (quoted-printable soft breaks undone). */
  lastTokenTo(address: string): string {
    const mail = [...this.mails].reverse().find((m) => m.to.includes(address));
    if (!mail) throw new Error(`no mail to ${address}`);
    const body = mail.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    const token = /email_token=([0-9a-f]{32})/.exec(body)?.[1];
    if (!token) throw new Error(`no token in mail to ${address}`);
    return token;
  }
}
