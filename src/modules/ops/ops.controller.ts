import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../../common/decorators/auth.decorators';

@ApiExcludeController()
@Controller()
export class OpsController {
  /** Liveness: answers as long as the process serves HTTP. */
  @Public()
  @Get('ping')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  ping(): string {
    return 'pong';
  }
}
