import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AdminBootstrapService } from './admin-bootstrap.service';
import { AdminScopeLink } from './admin-scope.link';
import { PasswordHasher } from './password-hasher.service';
import { PasswordPolicySource } from './password-policy.source';
import { ProfileController } from './profile.controller';
import { UserAnswerHooks } from './user-answer.hooks';
import { UserLifecycleHooks } from './user-lifecycle.hooks';
import { UserOrgLink } from './user-org.link';
import { UserPermsLink } from './user-perms.link';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

@Module({
  imports: [AuditModule],
  controllers: [UsersController, ProfileController],
  providers: [
    UsersService,
    UsersRepository,
    PasswordHasher,
    PasswordPolicySource,
    UserLifecycleHooks,
    UserAnswerHooks,
    UserOrgLink,
    UserPermsLink,
    AdminScopeLink,
    AdminBootstrapService,
  ],
  exports: [
    UsersService,
    PasswordPolicySource,
    UserLifecycleHooks,
    UserAnswerHooks,
    UserOrgLink,
    UserPermsLink,
    AdminScopeLink,
  ],
})
export class AccountsModule {}
