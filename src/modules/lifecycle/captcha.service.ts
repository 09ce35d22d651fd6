import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { constantTimeEqual } from '../../common/crypto/secrets';
import { MasterKey } from '../../common/crypto/master-key';
import { SecretBox } from '../../common/crypto/secret-box';
import { TransactionRunner } from '../../common/database/transaction-runner';
import { CommonErrors } from '../../common/errors/domain-error';
import { Clock } from '../../common/time/clock';
import { randomCaptchaAnswer, renderCaptchaPng } from './captcha-image';
import { LifecycleErrors } from './lifecycle.errors';
import { CaptchasRepository } from './lifecycle.repositories';

const CAPTCHA_TTL_MS = 5 * 60 * 1000;

/** Image captchas, kept in the database so any replica can check one another drew. */
@Injectable()
export class CaptchaService {
  private readonly box: SecretBox;

  constructor(
    private readonly captchas: CaptchasRepository,
    private readonly tx: TransactionRunner,
    private readonly clock: Clock,
    masterKey: MasterKey,
  ) {
    this.box = new SecretBox(masterKey.value, 'captcha');
  }

  async create(imagePathPrefix: string): Promise<{ captcha_key: string; captcha_img: string }> {
    const key = randomBytes(16).toString('hex');
    const now = this.clock.now();
    await this.tx.run((manager) =>
      this.captchas.insert(manager, {
        key,
        answerSealed: this.box.seal(randomCaptchaAnswer()),
        expiresAt: new Date(now.getTime() + CAPTCHA_TTL_MS),
      }),
    );
    return { captcha_key: key, captcha_img: `${imagePathPrefix}/service/captcha/image/${key}/` };
  }

  async image(key: string): Promise<Buffer> {
    const row = /^[0-9a-f]{32}$/.test(key) ? await this.captchas.find(key) : null;
    if (!row || row.expiresAt.getTime() <= this.clock.now().getTime()) throw CommonErrors.notFound();
    return renderCaptchaPng(this.box.open(row.answerSealed));
  }

  /**
   * `POST service/captcha/`: true when right. A wrong answer ends the challenge (no guessing twice);
   * a right one stays for the action it protects.
   */
  async check(key: unknown, answer: unknown): Promise<boolean> {
    const ok = await this.matches(key, answer);
    if (!ok && typeof key === 'string') await this.tx.run((manager) => this.captchas.take(manager, key));
    return ok;
  }

  /** For an action that requires a captcha: right or not, the challenge is used up. */
  async consume(key: unknown, answer: unknown): Promise<void> {
    const ok = await this.matches(key, answer);
    const taken =
      typeof key === 'string' && (await this.tx.run((manager) => this.captchas.take(manager, key)));
    if (!ok || !taken) throw LifecycleErrors.captchaInvalid();
  }

  private async matches(key: unknown, answer: unknown): Promise<boolean> {
    if (typeof key !== 'string' || typeof answer !== 'string' || !/^[0-9a-f]{32}$/.test(key)) return false;
    const row = await this.captchas.find(key);
    if (!row || row.expiresAt.getTime() <= this.clock.now().getTime()) return false;
    return constantTimeEqual(Buffer.from(this.box.open(row.answerSealed)), Buffer.from(answer.trim()));
  }
}
