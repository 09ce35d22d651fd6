import { Type } from 'class-transformer';
import { IsObject, IsOptional, ValidateNested } from 'class-validator';
import { ChoiceField, IntField, StringField, StringListField } from '../../../common/validation/fields';

const MAX_LIST = 10_000;

/** Fields of a department or group an admin writes; anything else a client sends is dropped. */
export class NodeFieldsDto {
  @StringField({ max: 1024, trim: false })
  remark?: string;

  @IntField({ min: 1, max: 5, description: '1 everyone, 2 members, 3 members and below, 4 listed, 5 nobody' })
  visibility?: number;

  @StringListField({ maxItems: 1000, itemMax: 80, description: 'visibility 4: node uids (d_…/g_…)' })
  node_scope?: string[];

  @StringListField({ maxItems: 1000, itemMax: 64, description: 'visibility 4: usernames' })
  user_scope?: string[];
}

/** ManagerGroup (contract §2): what a sub-admin group manages and the system powers it holds. */
export class ManagerGroupInputDto {
  @StringListField({ maxItems: 1000, itemMax: 80, description: 'scope 2: node uids (d_…/g_…)' })
  nodes?: string[];

  @StringListField({ maxItems: 1000, itemMax: 64, description: 'scope 2: usernames' })
  users?: string[];

  @StringListField({ maxItems: 1000, itemMax: 64, description: 'app uids' })
  apps?: string[];

  @StringListField({ maxItems: 20, itemMax: 64, description: 'system permission uids' })
  perms?: string[];

  @IntField({ min: 1, max: 2, description: "1 the members' own nodes, 2 the listed nodes and users" })
  scope_subject?: number;
}

/** Shared by create and update: only sub-admin groups (children of `g_manager`) read it. */
class ExtensibleNodeDto extends NodeFieldsDto {
  @IsOptional()
  @IsObject({ message: 'Must be an object.' })
  @ValidateNested()
  @Type(() => ManagerGroupInputDto)
  manager_group?: ManagerGroupInputDto;
}

export class CreateNodeDto extends ExtensibleNodeDto {
  @StringField({ max: 64, pattern: /^[a-z0-9]+$/, patternMessage: 'Only lowercase letters and digits.' })
  uid?: string;

  /** Required, except for a sub-admin group, which gets 8 random letters. */
  @StringField({ max: 255 })
  name?: string;
}

export class UpdateNodeDto extends ExtensibleNodeDto {
  /** Immutable; accepted only when it equals the current uid (clients send whole objects back). */
  @StringField({ max: 80 })
  uid?: string;

  @StringField({ max: 255, min: 1 })
  name?: string;
}

/** PATCH …/{uid}/{children}/: reorder the listed children, or move the listed nodes under this one. */
export class PatchChildrenDto {
  @ChoiceField({ required: true, choices: ['sort', 'add'] })
  subject!: 'sort' | 'add';

  @StringListField({ maxItems: MAX_LIST, itemMax: 80 })
  dept_uids?: string[];

  @StringListField({ maxItems: MAX_LIST, itemMax: 80 })
  group_uids?: string[];

  @StringListField({ maxItems: MAX_LIST, itemMax: 80 })
  node_uids?: string[];
}

export const MEMBER_SUBJECTS = ['add', 'delete', 'sort', 'override', 'move_out'] as const;
export type MemberSubject = (typeof MEMBER_SUBJECTS)[number];

/** PATCH …/{uid}/user/. */
export class PatchMembersDto {
  @ChoiceField({ required: true, choices: MEMBER_SUBJECTS })
  subject!: MemberSubject;

  @StringListField({ required: true, maxItems: MAX_LIST, itemMax: 64 })
  user_uids!: string[];

  @StringListField({ maxItems: 1000, itemMax: 80, description: 'move_out targets' })
  dept_uids?: string[];

  @StringListField({ maxItems: 1000, itemMax: 80, description: 'move_out targets' })
  group_uids?: string[];

  @StringListField({ maxItems: 1000, itemMax: 80, description: 'move_out targets' })
  node_uids?: string[];
}

/** PATCH user/{username}/{dept|group|node}/. */
export class PatchUserNodesDto {
  @ChoiceField({ required: true, choices: ['add', 'delete', 'override'] })
  subject!: 'add' | 'delete' | 'override';

  @StringListField({ maxItems: 1000, itemMax: 80 })
  dept_uids?: string[];

  @StringListField({ maxItems: 1000, itemMax: 80 })
  group_uids?: string[];

  @StringListField({ maxItems: 1000, itemMax: 80 })
  node_uids?: string[];
}
