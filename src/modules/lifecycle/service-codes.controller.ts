import {
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../../common/decorators/auth.decorators';
import type { Principal } from '../../common/guards/principal';
import { SERVICE_MOUNTS } from '../storage/storage.controller';
import { CaptchaService } from './captcha.service';
import { VerificationService } from './verification.service';
import { EMAIL_PURPOSES, type EmailPurpose, SMS_PURPOSES, type SmsPurpose } from './verification-rules';

function smsPurpose(value: string | undefined): SmsPurpose {
  if (value === undefined) return 'generic';
  if (value === 'generic' || !(SMS_PURPOSES as readonly string[]).includes(value))
    throw new NotFoundException();
  return value as SmsPurpose;
}

function emailPurpose(value: string): EmailPurpose {
  if (!(EMAIL_PURPOSES as readonly string[]).includes(value)) throw new NotFoundException();
  return value as EmailPurpose;
}

const context = (req: Request) => ({ ip: req.ip ?? '', principal: req.user as Principal | undefined });
const bodyOf = (body: unknown): Record<string, unknown> =>
  typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};

/**
 * Verification codes, links and captchas. Public routes: a token, when sent, still identifies the caller
 * (update_mobile and update_email need one).
 */
@ApiTags('service')
@Controller(SERVICE_MOUNTS)
export class ServiceCodesController {
  constructor(
    private readonly verification: VerificationService,
    private readonly captcha: CaptchaService,
  ) {}

  // Contact changes: the signed-in user's own routes, declared before the public `:purpose` ones.
  @Post('sms/update_mobile')
  @ApiBearerAuth('Token')
  sendUpdateMobile(@Body() body: unknown, @Req() req: Request): Promise<object> {
    return this.verification.sendSms('update_mobile', bodyOf(body), context(req));
  }

  @Get('sms/update_mobile')
  @ApiBearerAuth('Token')
  exchangeUpdateMobile(
    @Query('mobile') mobile: unknown,
    @Query('code') code: unknown,
    @Req() req: Request,
  ): Promise<{ sms_token: string; expired: number }> {
    return this.verification.exchangeSmsCode('update_mobile', mobile, code, context(req));
  }

  @Post('email/update_email')
  @ApiBearerAuth('Token')
  sendUpdateEmail(@Body() body: unknown, @Req() req: Request): Promise<string> {
    return this.verification.sendEmail('update_email', bodyOf(body), context(req));
  }

  @Get('email/update_email')
  @ApiBearerAuth('Token')
  readUpdateEmail(
    @Query('email_token') token: unknown,
    @Req() req: Request,
  ): Promise<Record<string, string>> {
    return this.verification.readEmailToken('update_email', token, context(req));
  }

  @Public()
  @Get('captcha')
  @ApiOperation({ summary: 'A new image captcha; `captcha_img` is the PNG path, as the contract spells it' })
  createCaptcha(): Promise<{ captcha_key: string; captcha_img: string }> {
    return this.captcha.create('/siteapi/oneid');
  }

  @Public()
  @Get('captcha/image/:key')
  async captchaImage(@Param('key') key: string, @Res() res: Response): Promise<void> {
    const png = await this.captcha.image(key);
    res.setHeader('Content-Type', 'image/png');
    res.setHeader('Cache-Control', 'no-store');
    res.send(png);
  }

  @Public()
  @Post('captcha')
  @HttpCode(200)
  async checkCaptcha(@Body() body: unknown, @Res() res: Response): Promise<void> {
    const b = bodyOf(body);
    if (await this.captcha.check(b.captcha_key, b.captcha)) res.status(200).json('captcha is valid');
    else res.status(400).type('text/plain').send('captcha is invalid');
  }

  @Public()
  @Post(['sms', 'sms/:purpose'])
  @ApiOperation({ summary: 'Send a 6-digit code (201 whether or not an account holds the number)' })
  sendSms(
    @Param('purpose') purpose: string | undefined,
    @Body() body: unknown,
    @Req() req: Request,
  ): Promise<object> {
    return this.verification.sendSms(smsPurpose(purpose), bodyOf(body), context(req));
  }

  @Public()
  @Get(['sms', 'sms/:purpose'])
  @ApiOperation({ summary: 'Exchange mobile + code for a single-use sms_token (20 minutes)' })
  exchangeSms(
    @Param('purpose') purpose: string | undefined,
    @Query('mobile') mobile: unknown,
    @Query('code') code: unknown,
    @Req() req: Request,
  ): Promise<{ sms_token: string; expired: number }> {
    return this.verification.exchangeSmsCode(smsPurpose(purpose), mobile, code, context(req));
  }

  @Public()
  @Post('email/:purpose')
  @ApiOperation({
    summary: 'Mail a single-use link (24 hours); 201 whether or not an account holds the address',
  })
  sendEmail(@Param('purpose') purpose: string, @Body() body: unknown, @Req() req: Request): Promise<string> {
    return this.verification.sendEmail(emailPurpose(purpose), bodyOf(body), context(req));
  }

  @Public()
  @Get('email/:purpose')
  readEmail(
    @Param('purpose') purpose: string,
    @Query('email_token') token: unknown,
    @Req() req: Request,
  ): Promise<Record<string, string>> {
    return this.verification.readEmailToken(emailPurpose(purpose), token, context(req));
  }
}
