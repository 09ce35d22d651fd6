import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SentSms {
  phoneNumbers: string;
  signName: string;
  templateCode: string;
  params: Record<string, string>;
}

/**
 * A loopback Aliyun SendSms endpoint (dysmsapi 2017-05-25, ACS3 RPC over POST /): business params in
 * the query, action in `x-acs-action`. Answers as Aliyun does: business results with HTTP 200 and
 * `Code`, gateway errors with 4xx and `RequestId, HostId, Code, Message, Recommend`.
 */
export class AliyunSmsFake {
  readonly sent: SentSms[] = [];
  /** Business codes to answer the next sends with (HTTP 200), in order. */
  nextBusinessErrors: string[] = [];
  private server?: Server;

  constructor(
    readonly accessKeyId = 'LTAI-test-key',
    readonly signNames = ['Arbor'],
    /** The approved templates and the variables each one needs, as Aliyun checks them. */
    readonly templates: Record<string, string[]> = {
      SMS_100: ['code'],
      SMS_200: ['code'],
      SMS_300: ['username'],
    },
  ) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** The site's `sms_config` that sends through this fake (template SMS_100 for codes). */
  siteConfig(): Record<string, string> {
    return {
      access_key: this.accessKeyId,
      access_secret: 'aliyun-secret-value',
      signature: this.signNames[0],
      template_code: 'SMS_100',
    };
  }

  lastCodeTo(phone: string): string {
    const sms = [...this.sent].reverse().find((s) => s.phoneNumbers === phone && s.params.code !== undefined);
    if (!sms) throw new Error(`no SMS to ${phone}`);
    return sms.params.code;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const answer = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json;charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    const requestId = randomUUID().toUpperCase();
    const gateway = (status: number, code: string, message: string) =>
      answer(status, {
        RequestId: requestId,
        HostId: 'dysmsapi.aliyuncs.com',
        Code: code,
        Message: message,
        Recommend: `https://api.aliyun.com/troubleshoot?q=${code}&product=Dysmsapi&requestId=${requestId}`,
      });
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const action = req.headers['x-acs-action'] ?? url.searchParams.get('Action');
      if (req.method !== 'POST' || url.pathname !== '/' || action !== 'SendSms') {
        gateway(
          404,
          'InvalidAction.NotFound',
          'Specified api is not found, please check your url and method.',
        );
        return;
      }
      const auth = String(req.headers.authorization ?? '');
      const credential = /Credential=([^,]+)/.exec(auth)?.[1];
      if (credential !== this.accessKeyId) {
        gateway(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
        return;
      }
      const q = url.searchParams;
      const signName = q.get('SignName');
      if (!signName) {
        gateway(400, 'MissingSignName', 'SignName is mandatory for this action.');
        return;
      }
      const business = (code: string, message: string) =>
        answer(200, { RequestId: requestId, Code: code, Message: message });
      const injected = this.nextBusinessErrors.shift();
      if (injected) {
        business(
          injected,
          injected === 'isv.BUSINESS_LIMIT_CONTROL' ? '触发分钟级流控Permits:1' : 'injected',
        );
        return;
      }
      const phone = q.get('PhoneNumbers') ?? '';
      if (!/^(1\d{10}|00\d{6,18})$/.test(phone))
        return business('isv.MOBILE_NUMBER_ILLEGAL', `${phone}invalid mobile number`);
      if (!this.signNames.includes(signName))
        return business('isv.SMS_SIGNATURE_ILLEGAL', '签名不合法(不存在或被拉黑)');
      const template = q.get('TemplateCode') ?? '';
      const variables = this.templates[template];
      if (!variables) return business('isv.SMS_TEMPLATE_ILLEGAL', '模板不合法(不存在或被拉黑)');
      let params: Record<string, string>;
      try {
        params = JSON.parse(q.get('TemplateParam') ?? '') as Record<string, string>;
      } catch {
        return business('isv.INVALID_JSON_PARAM', 'JSON参数不合法');
      }
      if (variables.some((name) => typeof params[name] !== 'string'))
        return business('isv.TEMPLATE_MISSING_PARAMETERS', '模版缺少变量');
      this.sent.push({ phoneNumbers: phone, signName, templateCode: template, params });
      answer(200, { Message: 'OK', RequestId: requestId, BizId: `${Date.now()}^0`, Code: 'OK' });
    });
  }
}
