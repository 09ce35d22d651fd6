import { Body, Controller, Get, HttpCode, Param, Patch, Post, Put, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  AdminOnly,
  CurrentActor,
  CurrentPrincipal,
  ManagerAccess,
  Public,
} from '../../common/decorators/auth.decorators';
import type { AdminActor } from '../../common/guards/admin-scope';
import type { Principal } from '../../common/guards/principal';
import { apiPaths } from '../../common/http/api-paths';
import { UsernamePipe } from '../../common/pipes/path-params.pipe';
import type { UserResponseDto } from '../accounts/dto/user-response.dto';
import type { UserWithPermDto, UserWithPermWithTokenDto } from '../auth/dto/login.dto';
import { setSessionCookie } from '../auth/session-cookie';
import {
  ActivateDto,
  ChangeContactDto,
  CreateInvitationDto,
  InvitationKeyDto,
  RegisterDto,
  ResetPasswordDto,
  TransferAdminDto,
} from './dto/lifecycle-input.dto';
import { type InvitationDto, InvitationsService } from './invitations.service';
import { LifecycleService } from './lifecycle.service';

const client = (req: Request) => ({ ip: req.ip ?? '', userAgent: req.get('user-agent') ?? '' });

@ApiTags('ucenter')
@Controller(apiPaths())
export class LifecycleController {
  constructor(
    private readonly lifecycle: LifecycleService,
    private readonly invitations: InvitationsService,
  ) {}

  @Public()
  @Post('ucenter/register')
  @ApiOperation({
    summary: 'Self-registration (when open) with an sms_token or email_token of purpose register',
  })
  async register(
    @Body() dto: RegisterDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<UserWithPermWithTokenDto> {
    const body = await this.lifecycle.register(dto, client(req));
    setSessionCookie(req, res, body.token);
    return body;
  }

  @Public()
  @Patch('ucenter/password')
  @ApiOperation({
    summary: 'Reset a password by mobile + sms_token, email + email_token, or username + old_password',
  })
  resetPassword(@Body() dto: ResetPasswordDto, @Req() req: Request): Promise<Record<string, string>> {
    return this.lifecycle.resetPassword(dto, client(req));
  }

  @Public()
  @Put('ucenter/password')
  resetPasswordPut(@Body() dto: ResetPasswordDto, @Req() req: Request): Promise<Record<string, string>> {
    return this.lifecycle.resetPassword(dto, client(req));
  }

  @Patch('ucenter/contact')
  @ApiBearerAuth('Token')
  @ApiOperation({
    summary: 'Change mobile or recovery e-mail: current password + a token sent to the new address',
  })
  changeContact(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: ChangeContactDto,
    @Req() req: Request,
  ): Promise<Record<string, string>> {
    return this.lifecycle.changeContact(principal, dto, client(req));
  }

  @Public()
  @Get('ucenter/profile/invited')
  invited(@Query('key') key: unknown): Promise<UserWithPermDto> {
    return this.lifecycle.invited(key);
  }

  @Public()
  @Patch('ucenter/profile/invited')
  @ApiOperation({ summary: 'Activate an invitation: set the password, proven by a code to the invitee' })
  activate(@Body() dto: ActivateDto): Promise<UserWithPermDto> {
    return this.lifecycle.activate(dto);
  }

  @Public()
  @Post('auth/invitation_key')
  @HttpCode(200)
  @ApiOperation({ summary: "An unsettled invitee's single sign-in by key and mobile; the key is used up" })
  invitationKey(@Body() dto: InvitationKeyDto, @Req() req: Request): Promise<UserWithPermWithTokenDto> {
    return this.lifecycle.signInWithInvitation(dto, client(req));
  }

  @ManagerAccess()
  @Post('invitation/user/:username')
  @HttpCode(200)
  @ApiBearerAuth('Token')
  @ApiOperation({ summary: 'Invite an unsettled user (ends earlier invitations of that user)' })
  invite(
    @Param('username', UsernamePipe) username: string,
    @Body() dto: CreateInvitationDto,
    @CurrentActor() actor: AdminActor,
    @CurrentPrincipal() principal: Principal,
  ): Promise<InvitationDto> {
    return this.invitations.create(username, dto.duration_minutes, {
      ...actor,
      username: principal.username,
    });
  }

  @AdminOnly()
  @Get('config/admin')
  @ApiBearerAuth('Token')
  admin(@CurrentPrincipal() principal: Principal): Promise<UserResponseDto> {
    return this.lifecycle.admin(principal);
  }

  @AdminOnly()
  @Patch('config/admin')
  @ApiBearerAuth('Token')
  @ApiOperation({
    summary: 'Hand the superuser role to the holder of another mobile (both sms tokens used up)',
  })
  transferAdmin(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: TransferAdminDto,
  ): Promise<{ new_admin_username: string }> {
    return this.lifecycle.transferAdmin(principal, dto);
  }
}
