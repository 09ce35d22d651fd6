import { Global, Module } from '@nestjs/common';
import { MasterKey } from './crypto/master-key';
import { ChangeStamps } from './database/change-stamps';
import { DirectSql } from './database/direct-sql';
import { TransactionRunner } from './database/transaction-runner';
import { WalCheckpointer } from './database/wal-checkpointer';
import { Clock } from './time/clock';
import { DateTimeFormatter } from './time/date-time.formatter';

/** Shared services every room may inject. */
@Global()
@Module({
  providers: [
    TransactionRunner,
    DirectSql,
    WalCheckpointer,
    ChangeStamps,
    Clock,
    DateTimeFormatter,
    MasterKey,
  ],
  exports: [TransactionRunner, DirectSql, ChangeStamps, Clock, DateTimeFormatter, MasterKey],
})
export class CommonModule {}
