import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsDefined,
  IsIn,
  IsInt,
  IsString,
  MaxLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { BoolField, StringField } from '../../../common/validation/fields';

export class CreatePermDto {
  @StringField({ required: true, max: 64, description: 'the uid of the app the permission belongs to' })
  scope!: string;

  @StringField({ required: true, max: 255, min: 1 })
  name!: string;

  @StringField({ max: 1024, trim: false })
  remark?: string;
}

export class UpdatePermDto {
  @StringField({ max: 255, min: 1 })
  name?: string;

  @StringField({ max: 1024, trim: false })
  remark?: string;
}

const MAX_ASSIGNMENTS = 10_000;

/** One assignment: `uid` names the owner (a username or a node_uid) or the permission. */
export class StatusItemDto {
  @ApiProperty()
  @IsString({ message: 'Not a valid string.' })
  @MaxLength(160, { message: 'Ensure this field has no more than 160 characters.' })
  uid!: string;

  @ApiProperty({ enum: [-1, 0, 1] })
  @IsInt({ message: 'A valid integer is required.' })
  @IsIn([-1, 0, 1], { message: 'Must be one of: -1, 0, 1.' })
  status!: -1 | 0 | 1;
}

const StatusList = (required: boolean) => (target: object, key: string) => {
  ApiProperty({ type: [StatusItemDto], required })(target, key);
  if (required) IsDefined({ message: 'This field is required.' })(target, key);
  else ValidateIf((_o, v) => v !== undefined)(target, key);
  IsArray({ message: 'must be a list' })(target, key);
  ArrayMaxSize(MAX_ASSIGNMENTS, { message: `Ensure this list has no more than ${MAX_ASSIGNMENTS} items.` })(
    target,
    key,
  );
  ValidateNested({ each: true })(target, key);
  Type(() => StatusItemDto)(target, key);
};

export class PatchOwnersDto {
  @BoolField({ description: 'first set every owner of the permission back to 0 (inherit)' })
  clean?: boolean;

  @StatusList(false)
  user_perm_status?: StatusItemDto[];

  @StatusList(false)
  node_perm_status?: StatusItemDto[];
}

export class PatchOwnerPermsDto {
  @StatusList(true)
  perm_statuses!: StatusItemDto[];
}
