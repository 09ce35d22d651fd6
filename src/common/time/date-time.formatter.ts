import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';

/** Renders datetimes as ISO-8601 with the offset of the configured zone (ArkID: Asia/Shanghai). */
@Injectable()
export class DateTimeFormatter {
  private readonly parts: Intl.DateTimeFormat;

  constructor(config: AppConfig) {
    this.parts = new Intl.DateTimeFormat('en-US', {
      timeZone: config.timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  }

  format(date: Date): string;
  format(date: Date | null | undefined): string | null;
  format(date: Date | null | undefined): string | null {
    if (!date) return null;
    const p: Record<string, string> = {};
    for (const part of this.parts.formatToParts(date)) p[part.type] = part.value;
    const local = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
    const offsetMinutes = Math.round((local - Math.floor(date.getTime() / 1000) * 1000) / 60000);
    const sign = offsetMinutes >= 0 ? '+' : '-';
    const abs = Math.abs(offsetMinutes);
    const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${offset}`;
  }
}
