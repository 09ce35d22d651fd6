import { Injectable } from '@nestjs/common';

/** The current time, injectable so rules that depend on time can be tested. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
