import { Global, Module } from '@nestjs/common';
import { Metrics } from './metrics.service';

/** Global, so any room can count without importing ops; ops serves the registry at /metrics. */
@Global()
@Module({ providers: [Metrics], exports: [Metrics] })
export class MetricsModule {}
