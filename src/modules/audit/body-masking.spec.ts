import { MASK, MAX_BODY_CHARS, maskBody, maskedBodyText } from './body-masking';

describe('body masking', () => {
  it('masks secret keys at any depth and in any case, inside arrays too, keeping the rest', () => {
    const body = {
      username: 'alice',
      Password: 'hunter2',
      user: { name: 'Alice', new_password: 'x', profile: { sms_token: 't', deep: [{ ApiKey: 'k', ok: 1 }] } },
      oauth_app: { client_secret: 's', redirect_uris: 'https://a.example/cb' },
      items: [{ captcha: 'c' }, { code: '1234', value: 'v' }],
      AUTHORIZATION: 'Token abc',
      is_active: true,
      gender: 2,
      remark: null,
    };
    expect(maskBody(body)).toEqual({
      username: 'alice',
      Password: MASK,
      user: {
        name: 'Alice',
        new_password: MASK,
        profile: { sms_token: MASK, deep: [{ ApiKey: MASK, ok: 1 }] },
      },
      oauth_app: { client_secret: MASK, redirect_uris: 'https://a.example/cb' },
      items: [{ captcha: MASK }, { code: MASK, value: 'v' }],
      AUTHORIZATION: MASK,
      is_active: true,
      gender: 2,
      remark: null,
    });
  });

  it('masks a secret whatever its value is: objects, arrays and numbers too', () => {
    expect(maskBody({ token: { a: 1 }, secrets: ['a', 'b'], code: 123456 })).toEqual({
      token: MASK,
      secrets: MASK,
      code: MASK,
    });
  });

  it('never finds a secret by scanning text: a value that merely mentions one is kept', () => {
    // The masking is by key; text that looks like JSON inside a value is data, not structure.
    expect(maskBody({ remark: '{"password": "not-a-key-here"}' })).toEqual({
      remark: '{"password": "not-a-key-here"}',
    });
  });

  it('bounds depth, breadth and string length', () => {
    let deep: Record<string, unknown> = { password: 'p' };
    for (let i = 0; i < 20; i++) deep = { level: deep };
    expect(JSON.stringify(maskBody(deep))).not.toContain('"p"');
    const wide = maskBody(Array.from({ length: 150 }, (_, i) => i)) as unknown[];
    expect(wide).toHaveLength(101);
    expect(wide[100]).toBe('… 50 more');
    expect((maskBody('x'.repeat(5000)) as string).length).toBe(1001);
  });

  it('caps the stored text and reports an empty body as none', () => {
    const text = maskedBodyText({ list: Array.from({ length: 100 }, () => 'y'.repeat(900)) });
    expect(text?.length).toBeLessThanOrEqual(MAX_BODY_CHARS + 20);
    expect(text?.endsWith('…(truncated)')).toBe(true);
    expect(maskedBodyText({})).toBeNull();
    expect(maskedBodyText(undefined)).toBeNull();
    expect(maskedBodyText({ password: 'p' })).toBe(`{"password":"${MASK}"}`);
  });
});
