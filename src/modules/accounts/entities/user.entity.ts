import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/** Where an account came from (ArkID `origin`). */
export enum UserOrigin {
  Script = 0,
  Admin = 1,
  UsernameSignup = 2,
  MobileSignup = 3,
  EmailSignup = 4,
}

/**
 * An account. Optional unique identifiers (`private_email`, `mobile`) are NULL when absent so the unique
 * indexes ignore them; deleted rows are tombstones whose identifiers are cleared (see UsersService.remove).
 */
@Entity('users')
export class UserEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Index('uq_users_username', { unique: true })
  @Column({ type: 'varchar', length: 64 })
  username!: string;

  @Column({ type: 'varchar', length: 255, default: '' })
  name!: string;

  @Column({ type: 'varchar', length: 255, default: '' })
  email!: string;

  @Index('uq_users_private_email', { unique: true })
  @Column({ name: 'private_email', type: 'varchar', length: 255, nullable: true })
  privateEmail!: string | null;

  @Index('uq_users_mobile', { unique: true })
  @Column({ type: 'varchar', length: 32, nullable: true })
  mobile!: string | null;

  @Column({ name: 'employee_number', type: 'varchar', length: 64, default: '' })
  employeeNumber!: string;

  @Column({ type: 'smallint', default: 0 })
  gender!: number;

  @Column({ type: 'varchar', length: 255, default: '' })
  avatar!: string;

  @Column({ type: 'varchar', length: 255, default: '' })
  position!: string;

  @Column({ type: 'varchar', length: 1024, default: '' })
  remark!: string;

  @Column({ type: 'datetime', nullable: true })
  hiredate!: Date | null;

  @Column({ name: 'password_hash', type: 'varchar', length: 255, nullable: true })
  passwordHash!: string | null;

  @Column({ name: 'require_reset_password', type: 'boolean', default: false })
  requireResetPassword!: boolean;

  @Column({ name: 'is_active', type: 'boolean', default: true })
  isActive!: boolean;

  @Column({ name: 'is_admin', type: 'boolean', default: false })
  isAdmin!: boolean;

  @Column({ type: 'smallint', default: UserOrigin.Script })
  origin!: UserOrigin;

  @Column({ name: 'from_register', type: 'boolean', default: false })
  fromRegister!: boolean;

  @Index('ix_users_last_active_time')
  @Column({ name: 'last_active_time', type: 'datetime', nullable: true })
  lastActiveTime!: Date | null;

  @Index('ix_users_created_at')
  @CreateDateColumn({ name: 'created_at', type: 'datetime' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'datetime' })
  updatedAt!: Date;

  @Column({ name: 'deleted_at', type: 'datetime', nullable: true })
  deletedAt!: Date | null;
}
