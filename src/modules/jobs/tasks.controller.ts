import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ManagerAccess } from '../../common/decorators/auth.decorators';
import { apiPaths } from '../../common/http/api-paths';
import { type TaskResultDto, TasksService } from './tasks.service';

@ApiTags('tasks')
@ApiBearerAuth('Token')
@Controller(apiPaths('task'))
export class TasksController {
  constructor(private readonly tasks: TasksService) {}

  @ManagerAccess()
  @Get(':id/result')
  @ApiOperation({
    summary:
      'A task: status 1 waiting, 2 doing, 3 failed, 4 success; progress (stage, done/total), per-record ' +
      'errors and the result. 404 when unknown.',
  })
  result(@Param('id') id: string): Promise<TaskResultDto> {
    return this.tasks.result(id.slice(0, 64));
  }
}
