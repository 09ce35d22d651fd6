import { Body, Controller, Get, Patch } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../../common/decorators/auth.decorators';
import type { Principal } from '../../common/guards/principal';
import { apiPaths } from '../../common/http/api-paths';
import { UpdateProfileDto } from './dto/user-input.dto';
import { UserProfileResponseDto } from './dto/user-response.dto';
import { UsersService } from './users.service';

@ApiTags('ucenter')
@ApiBearerAuth('Token')
@Controller(apiPaths('ucenter/profile'))
export class ProfileController {
  constructor(private readonly users: UsersService) {}

  @Get()
  @ApiOkResponse({ type: UserProfileResponseDto })
  get(@CurrentPrincipal() principal: Principal): Promise<UserProfileResponseDto> {
    return this.users.getProfile(principal.userId);
  }

  @Patch()
  @ApiOkResponse({ type: UserProfileResponseDto })
  update(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: UpdateProfileDto,
  ): Promise<UserProfileResponseDto> {
    return this.users.updateProfile(principal.userId, dto);
  }
}
