import { IntField, StringField } from '../../../common/validation/fields';
import { PASSWORD_MAX_LENGTH } from '../../accounts/password-policy';

const TOKEN = { max: 64 };

/** POST ucenter/register/: username and password, proven by an sms_token or an email_token (register). */
export class RegisterDto {
  @StringField({
    required: true,
    max: 16,
    pattern: /^[a-z0-9]{4,16}$/,
    patternMessage: 'invalid',
  })
  username!: string;

  @StringField({ required: true, max: PASSWORD_MAX_LENGTH, trim: false })
  password!: string;

  @StringField(TOKEN) sms_token?: string;
  @StringField(TOKEN) email_token?: string;
}

/** PUT/PATCH ucenter/password/: new_password and the first mode that matches. */
export class ResetPasswordDto {
  @StringField({ required: true, max: PASSWORD_MAX_LENGTH, trim: false })
  new_password!: string;

  @StringField({ max: 32 }) mobile?: string;
  @StringField(TOKEN) sms_token?: string;
  @StringField({ max: 254 }) email?: string;
  @StringField(TOKEN) email_token?: string;
  @StringField({ max: 64 }) username?: string;
  @StringField({ max: PASSWORD_MAX_LENGTH, trim: false }) old_password?: string;
}

/** PATCH ucenter/contact/: the current password and a token sent to the new address. */
export class ChangeContactDto {
  @StringField({ max: PASSWORD_MAX_LENGTH, trim: false }) password?: string;
  @StringField(TOKEN) sms_token?: string;
  @StringField(TOKEN) email_token?: string;
}

/** PATCH ucenter/profile/invited/. */
export class ActivateDto {
  @StringField({ required: true, max: 64 }) key!: string;
  @StringField({ required: true, max: PASSWORD_MAX_LENGTH, trim: false }) password!: string;
  @StringField({ max: 32, pattern: /^[a-z0-9]{4,32}$/, patternMessage: 'invalid' }) username?: string;
  @StringField(TOKEN) sms_token?: string;
  @StringField(TOKEN) email_token?: string;
}

/** POST auth/invitation_key/. */
export class InvitationKeyDto {
  @StringField({ required: true, max: 64 }) key!: string;
  @StringField({ required: true, max: 32 }) mobile!: string;
}

/** POST invitation/user/{username}/. */
export class CreateInvitationDto {
  @IntField({ min: 5, max: 30 * 24 * 60, description: 'Lifetime in minutes (default 1 day)' })
  duration_minutes?: number;
}

/** PATCH config/admin/: generic sms tokens of the current and the new admin's mobiles. */
export class TransferAdminDto {
  @StringField({ required: true, ...TOKEN }) old_admin_sms_token!: string;
  @StringField({ required: true, ...TOKEN }) new_admin_sms_token!: string;
}
