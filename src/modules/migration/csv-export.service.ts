import { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { stringify } from 'csv-stringify';
import { DomainError } from '../../common/errors/domain-error';
import type { AdminScope } from '../../common/guards/admin-scope';
import { UsersService } from '../accounts/users.service';
import { CSV_COLUMNS } from './csv-format';

const PAGE = 1000;

/** Streams users as CSV, a keyset page at a time, so memory does not grow with the directory. */
@Injectable()
export class CsvExportService {
  constructor(private readonly users: UsersService) {}

  /**
   * The listed users (404 if one does not exist or is outside the caller's scope), or every live user
   * the caller manages. UTF-8 with a BOM, for Excel.
   */
  async export(usernames: string[] | undefined, scope: AdminScope): Promise<Readable> {
    if (usernames) {
      const unique = [...new Set(usernames)];
      const found = (await this.users.findLiveByUsernames(unique)).filter((u) => scope.managesUser(u.id));
      if (found.length !== unique.length)
        throw new DomainError('common.not_found', 404, { detail: 'Not found.' });
    }
    const users = this.users;
    async function* rows(): AsyncGenerator<string[]> {
      let afterId = 0;
      for (;;) {
        const page = await users.pageForExport(afterId, PAGE, usernames && [...new Set(usernames)]);
        if (page.length === 0) return;
        for (const u of page) {
          if (!scope.managesUser(u.id)) continue;
          yield [
            u.username,
            u.name,
            u.email,
            u.privateEmail ?? '',
            u.mobile ?? '',
            String(u.gender),
            u.avatar,
            u.position,
            u.employeeNumber,
          ];
        }
        afterId = page[page.length - 1].id;
      }
    }
    const csv = stringify({
      header: true,
      columns: [...CSV_COLUMNS],
      bom: true,
      record_delimiter: 'windows',
    });
    return Readable.from(rows()).pipe(csv);
  }
}
