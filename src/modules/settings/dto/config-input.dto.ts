import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsObject, IsOptional, ValidateNested } from 'class-validator';
import { BoolField, ChoiceField, EmailField, IntField, StringField } from '../../../common/validation/fields';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_FLOOR } from '../../accounts/password-policy';

const Section = (type: () => new () => object): PropertyDecorator => {
  const decorators = [
    ApiPropertyOptional({ type }),
    IsOptional(),
    IsObject({ message: 'Expected an object.' }),
    ValidateNested(),
    Type(type),
  ];
  return (target, key) => decorators.forEach((d) => d(target, key));
};

export class CompanyConfigDto {
  @StringField({ max: 255 }) name_cn?: string;
  @StringField({ max: 255 }) fullname_cn?: string;
  @StringField({ max: 255 }) name_en?: string;
  @StringField({ max: 255 }) fullname_en?: string;
  @StringField({ max: 255, description: 'A file name from service/file/' }) icon?: string;
  @StringField({ max: 255 }) address?: string;
  @StringField({
    max: 255,
    pattern: /^$|^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/,
    patternMessage: 'Enter a valid domain name.',
  })
  domain?: string;
  @StringField({ max: 7, pattern: /^$|^#?[0-9a-fA-F]{6}$/, patternMessage: 'Enter 6 hex digits.' })
  color?: string;
}

export class AccountConfigDto {
  @BoolField() allow_register?: boolean;
  @BoolField() allow_mobile?: boolean;
  @BoolField() allow_email?: boolean;
}

const DING_ID = { max: 128, pattern: /^$|^[A-Za-z0-9_.-]+$/, patternMessage: 'Enter a DingTalk id.' };
const DING_SECRET = {
  max: 256,
  trim: false,
  description: 'Write-only; saved only when DingTalk accepts it.',
};

/** `ding_config`: each pair is checked with DingTalk (gettoken); `*_valid` are read-only. */
export class DingConfigDto {
  @StringField(DING_ID) app_key?: string;
  @StringField(DING_SECRET) app_secret?: string;
  @StringField(DING_ID) corp_id?: string;
  @StringField(DING_SECRET) corp_secret?: string;
  @StringField(DING_ID) qr_app_id?: string;
  @StringField(DING_SECRET) qr_app_secret?: string;
}

const TEMPLATE = { max: 64, pattern: /^$|^[A-Za-z0-9_]+$/, patternMessage: 'Enter a template code.' };

export class SmsConfigDto {
  @ChoiceField({ choices: ['aliyun'] }) vendor?: 'aliyun';
  @StringField({ max: 128 }) access_key?: string;
  @StringField({ max: 256, trim: false, description: 'Write-only; empty keeps the stored one.' })
  access_secret?: string;
  @StringField({ max: 64 }) signature?: string;
  @StringField({ max: 64 }) signature_i18n?: string;
  @StringField(TEMPLATE) template_code?: string;
  @StringField(TEMPLATE) template_register?: string;
  @StringField(TEMPLATE) template_reset_pwd?: string;
  @StringField(TEMPLATE) template_activate?: string;
  @StringField(TEMPLATE) template_reset_mobile?: string;
  @StringField(TEMPLATE) template_login?: string;
  @StringField({ ...TEMPLATE, description: 'Notice to the old number after a mobile change; empty = none.' })
  template_contact_changed?: string;
  @StringField(TEMPLATE) template_code_i18n?: string;
  @StringField(TEMPLATE) template_register_i18n?: string;
  @StringField(TEMPLATE) template_reset_pwd_i18n?: string;
  @StringField(TEMPLATE) template_activate_i18n?: string;
  @StringField(TEMPLATE) template_reset_mobile_i18n?: string;
  @StringField(TEMPLATE) template_login_i18n?: string;
  @StringField(TEMPLATE) template_contact_changed_i18n?: string;
}

export class EmailConfigDto {
  @StringField({ max: 255 }) host?: string;
  @IntField({ min: 1, max: 65535 }) port?: number;
  @BoolField({ description: 'true: implicit TLS (465); false: STARTTLS when offered' }) tls?: boolean;
  @StringField({ max: 255, description: 'SMTP user' }) access_key?: string;
  @StringField({ max: 256, trim: false, description: 'SMTP password; write-only, empty keeps it.' })
  access_secret?: string;
  @EmailField() sender?: string;
  @StringField({ max: 64 }) nickname?: string;
}

export class PasswordConfigDto {
  @IntField({ min: PASSWORD_MIN_FLOOR, max: 64 }) min_length?: number;
  @IntField({ min: 64, max: PASSWORD_MAX_LENGTH }) max_length?: number;
  @BoolField() check_common?: boolean;
  @IntField({ min: 0, max: 32 }) min_upper?: number;
  @IntField({ min: 0, max: 32 }) min_lower?: number;
  @IntField({ min: 0, max: 32 }) min_letter?: number;
  @IntField({ min: 0, max: 32 }) min_digit?: number;
  @IntField({ min: 0, max: 32 }) min_special?: number;
  @IntField({ min: 0, max: 32 }) min_word?: number;
  @BoolField() is_active?: boolean;
}

export class CaptchaConfigDto {
  @BoolField() sms?: boolean;
  @BoolField() email?: boolean;
  @IntField({ min: 0, max: 100 }) login_failures?: number;
}

/** PATCH/PUT config/: any subset of sections, each any subset of its fields. */
export class UpdateConfigDto {
  @Section(() => CompanyConfigDto) company_config?: CompanyConfigDto;
  @Section(() => AccountConfigDto) account_config?: AccountConfigDto;
  @Section(() => DingConfigDto) ding_config?: DingConfigDto;
  @Section(() => SmsConfigDto) sms_config?: SmsConfigDto;
  @Section(() => EmailConfigDto) email_config?: EmailConfigDto;
  @Section(() => PasswordConfigDto) password_config?: PasswordConfigDto;
  @Section(() => CaptchaConfigDto) captcha_config?: CaptchaConfigDto;
}

export class MinioConfigDto {
  @StringField({
    max: 255,
    pattern: /^$|^[A-Za-z0-9.-]+(:\d{1,5})?$/,
    patternMessage: 'Enter host or host:port.',
  })
  end_point?: string;
  @StringField({ max: 128 }) access_key?: string;
  @StringField({ max: 256, trim: false, description: 'Write-only; empty keeps the stored one.' })
  secret_key?: string;
  @BoolField() secure?: boolean;
  @StringField({ max: 64 }) location?: string;
  @StringField({
    max: 63,
    pattern: /^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    patternMessage: 'Enter a valid bucket name.',
  })
  bucket?: string;
}

/** PATCH config/storage/. */
export class UpdateStorageDto {
  @ChoiceField({ choices: ['local', 'minio'] }) method?: 'local' | 'minio';
  @Section(() => MinioConfigDto) minio_config?: MinioConfigDto;
}
