import { Module } from '@nestjs/common';
import { OpsController } from './ops.controller';
import { ReadinessService } from './readiness.service';

@Module({ controllers: [OpsController], providers: [ReadinessService] })
export class OpsModule {}
