import { ApiProperty } from '@nestjs/swagger';
import { EmailField, StringField } from '../../../common/validation/fields';
import { PASSWORD_MAX_LENGTH } from '../../accounts/password-policy';

/** POST ucenter/login/: one identifier (`username`, `private_email` or `mobile`) and `password`. */
export class LoginDto {
  @StringField({ max: 64 })
  username?: string;

  @EmailField()
  private_email?: string;

  @StringField({ max: 32 })
  mobile?: string;

  @StringField({ max: PASSWORD_MAX_LENGTH, trim: false })
  password?: string;

  /** With `mobile`, instead of a password: from `GET service/sms/login/`. */
  @StringField({ max: 64 })
  sms_token?: string;

  /** Required once the account has failed often enough (site config `captcha_config.login_failures`). */
  @StringField({ max: 64 })
  captcha_key?: string;

  @StringField({ max: 16 })
  captcha?: string;
}

export class UserWithPermDto {
  @ApiProperty() user_id!: number;
  @ApiProperty() username!: string;
  @ApiProperty() name!: string;
  @ApiProperty() email!: string;
  @ApiProperty() mobile!: string;
  @ApiProperty() employee_number!: string;
  @ApiProperty() gender!: number;
  @ApiProperty() avatar!: string;
  @ApiProperty() private_email!: string;
  @ApiProperty() position!: string;
  @ApiProperty() is_settled!: boolean;
  @ApiProperty() is_manager!: boolean;
  @ApiProperty() is_admin!: boolean;
  @ApiProperty() is_extern_user!: boolean;
  @ApiProperty() origin_verbose!: string;
  @ApiProperty() require_reset_password!: boolean;
  @ApiProperty() has_password!: boolean;
  @ApiProperty({ type: [String], description: 'uids of the permissions the user holds' }) perms!: string[];
  @ApiProperty({ type: [String], enum: ['admin', 'manager'] }) roles!: string[];
  @ApiProperty({ type: [String], description: 'System permissions held (every one for admins)' })
  powers!: string[];
}

export class UserWithPermWithTokenDto extends UserWithPermDto {
  @ApiProperty({ description: 'The API key for `Authorization: Token <key>`; shown only here.' })
  token!: string;
}
