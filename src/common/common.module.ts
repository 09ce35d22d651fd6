import { Global, Module } from '@nestjs/common';
import { TransactionRunner } from './database/transaction-runner';
import { Clock } from './time/clock';
import { DateTimeFormatter } from './time/date-time.formatter';

/** Shared services every room may inject. */
@Global()
@Module({
  providers: [TransactionRunner, Clock, DateTimeFormatter],
  exports: [TransactionRunner, Clock, DateTimeFormatter],
})
export class CommonModule {}
