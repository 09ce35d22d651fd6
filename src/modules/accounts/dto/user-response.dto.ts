import { ApiProperty } from '@nestjs/swagger';

/** ArkID's User object. */
export class UserResponseDto {
  @ApiProperty() user_id!: number;
  @ApiProperty() username!: string;
  @ApiProperty() name!: string;
  @ApiProperty() email!: string;
  @ApiProperty() mobile!: string;
  @ApiProperty() employee_number!: string;
  @ApiProperty({ enum: [0, 1, 2] }) gender!: number;
  @ApiProperty() avatar!: string;
  @ApiProperty() private_email!: string;
  @ApiProperty() position!: string;
  @ApiProperty() remark!: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) hiredate!: string | null;
  @ApiProperty({ format: 'date-time' }) created!: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) last_active_time!: string | null;
  @ApiProperty() is_settled!: boolean;
  @ApiProperty() is_manager!: boolean;
  @ApiProperty() is_admin!: boolean;
  @ApiProperty() is_extern_user!: boolean;
  @ApiProperty() is_active!: boolean;
  @ApiProperty() origin_verbose!: string;
  @ApiProperty() require_reset_password!: boolean;
  @ApiProperty() has_password!: boolean;
}

/** ArkID's Employee: a User with the nodes it directly belongs to. */
export class EmployeeResponseDto extends UserResponseDto {
  @ApiProperty({ type: [Object], description: 'GroupLite and DeptLite objects of direct memberships' })
  nodes!: Record<string, unknown>[];
}

/** ArkID's UserProfile. */
export class UserProfileResponseDto {
  @ApiProperty() username!: string;
  @ApiProperty() name!: string;
  @ApiProperty() email!: string;
  @ApiProperty() mobile!: string;
  @ApiProperty() employee_number!: string;
  @ApiProperty() gender!: number;
  @ApiProperty() avatar!: string;
  @ApiProperty() private_email!: string;
  @ApiProperty() position!: string;
  @ApiProperty() remark!: string;
  @ApiProperty({ type: [Object] }) depts!: { uid: string; name: string }[];
  @ApiProperty({ type: [String] }) visible_fields!: string[];
  @ApiProperty({ type: [String], enum: ['admin', 'manager'] }) roles!: string[];
  @ApiProperty({ type: [String], description: 'System permissions held (every one for admins)' })
  powers!: string[];
}

export class UserPageDto {
  @ApiProperty() count!: number;
  @ApiProperty({ type: String, nullable: true }) next!: string | null;
  @ApiProperty({ type: String, nullable: true }) previous!: string | null;
  @ApiProperty({ type: [EmployeeResponseDto] }) results!: EmployeeResponseDto[];
}
