import { ApiProperty, ApiPropertyOptional, PartialType, PickType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsArray, IsDefined, IsObject, IsOptional, IsString, ValidateNested } from 'class-validator';
import {
  BoolField,
  DateTimeField,
  EmailField,
  IntField,
  StringField,
} from '../../../common/validation/fields';
import { PASSWORD_MAX_LENGTH } from '../password-policy';

export const USERNAME_PATTERN = /^[a-z0-9]{4,32}$/;
export const MOBILE_PATTERN = /^(1\d{10}|\+\d{1,4} \d{4,15})$/;

/** The user fields an admin may write. Anything else a client sends (read-only fields included) is dropped. */
export class UserFieldsDto {
  @StringField({
    required: true,
    max: 32,
    pattern: USERNAME_PATTERN,
    patternMessage: 'Enter a valid username: 4 to 32 lowercase letters or digits.',
  })
  username!: string;

  @StringField({ max: 255 })
  name?: string;

  @EmailField()
  email?: string;

  @EmailField({ nullable: true, description: 'The recovery address; unique.' })
  private_email?: string | null;

  @StringField({
    nullable: true,
    max: 32,
    pattern: /^$|^(1\d{10}|\+\d{1,4} \d{4,15})$/,
    patternMessage: 'Enter a valid mobile number: 1XXXXXXXXXX or +<country code> <digits>.',
  })
  mobile?: string | null;

  @StringField({ max: 64 })
  employee_number?: string;

  @IntField({ min: 0, max: 2, choices: [0, 1, 2], description: '0 unknown, 1 male, 2 female' })
  gender?: number;

  @StringField({ max: 255 })
  avatar?: string;

  @StringField({ max: 255 })
  position?: string;

  @StringField({ max: 1024, trim: false })
  remark?: string;

  @DateTimeField({ nullable: true })
  hiredate?: string | null;

  @BoolField()
  require_reset_password?: boolean;

  @BoolField({ description: 'false disables the account and revokes its tokens' })
  is_active?: boolean;
}

export class CreateUserFieldsDto extends UserFieldsDto {
  @StringField({ max: PASSWORD_MAX_LENGTH, trim: false, description: 'Checked against the password policy.' })
  password?: string;
}

/** POST user/: `{user, node_uids?}` or `{user, dept_uids?, group_uids?}`. */
export class CreateUserDto {
  @ApiProperty({ type: CreateUserFieldsDto })
  @IsDefined({ message: 'This field is required.' })
  @IsObject({ message: 'Expected an object.' })
  @ValidateNested()
  @Type(() => CreateUserFieldsDto)
  user!: CreateUserFieldsDto;

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray({ message: 'Expected a list of items.' })
  @IsString({ each: true, message: 'Not a valid string.' })
  node_uids?: string[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray({ message: 'Expected a list of items.' })
  @IsString({ each: true, message: 'Not a valid string.' })
  dept_uids?: string[];

  @ApiPropertyOptional({ type: [String] })
  @IsOptional()
  @IsArray({ message: 'Expected a list of items.' })
  @IsString({ each: true, message: 'Not a valid string.' })
  group_uids?: string[];
}

/** PATCH user/{username}/: any subset; a `username` equal to the current one is accepted and ignored. */
export class UpdateUserDto extends PartialType(UserFieldsDto) {}

/** PATCH ucenter/profile/: what a user may change about themselves (contact addresses go through verification). */
export class UpdateProfileDto extends PartialType(
  PickType(UserFieldsDto, ['name', 'gender', 'avatar', 'remark'] as const),
) {}

/** PATCH user/{username}/password/ (admin). */
export class SetPasswordDto {
  @StringField({ required: true, max: PASSWORD_MAX_LENGTH, trim: false })
  password!: string;

  @BoolField({ required: true })
  require_reset_password!: boolean;
}
