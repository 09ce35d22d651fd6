import { DataSource } from 'typeorm';
import { MasterKey } from '../../src/common/crypto/master-key';
import { SecretBox } from '../../src/common/crypto/secret-box';
import { API, type TestApp } from './test-app';

/** The answer to a drawn captcha, read from its sealed row (what a person reads off the picture). */
export async function captchaAnswerOf(t: TestApp, key: string): Promise<string> {
  const [row] = await t.app
    .get(DataSource)
    .query<{ sealed: string }[]>('SELECT answer_sealed AS sealed FROM captchas WHERE captcha_key = ?', [key]);
  return new SecretBox(t.app.get(MasterKey).value, 'captcha').open(row.sealed);
}

/** The captcha key a page's form (by id, or the page's first) asks to be answered. */
export function captchaKeyOf(html: string, formId?: string): string {
  const form = formId ? new RegExp(`<form[^>]*id="${formId}"[\\s\\S]*?</form>`).exec(html)?.[0] : html;
  const key = /name="captcha_key" value="([0-9a-f]{32})"/.exec(form ?? '')?.[1];
  if (!key) throw new Error(`no captcha in ${formId ? `form ${formId}` : 'page'}: ${html.slice(0, 300)}`);
  return key;
}

/** Sets the site's captcha rules (`captcha_config`). */
export async function setCaptcha(t: TestApp, captcha: Record<string, unknown>): Promise<void> {
  await t.http
    .patch(`${API}/config/`)
    .set('Authorization', `Token ${await t.adminToken()}`)
    .send({ captcha_config: captcha })
    .expect(200);
}
