import { CronExpressionParser } from 'cron-parser';

/** True when `expression` is a standard five-field cron (minute hour day-of-month month day-of-week; D30). */
export function isValidCron(expression: string): boolean {
  if (expression.trim().split(/\s+/).length !== 5) return false;
  try {
    CronExpressionParser.parse(expression);
    return true;
  } catch {
    return false;
  }
}

/** The first firing of `expression` after `after`, in `timeZone`. */
export function nextCronRun(expression: string, after: Date, timeZone: string): Date {
  return CronExpressionParser.parse(expression, { currentDate: after, tz: timeZone }).next().toDate();
}
