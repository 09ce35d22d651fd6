import { Injectable } from '@nestjs/common';

/** Fields a room adds to user answers (the sync's `ding_user`), for many users at once. */
export type UserAnswerExtension = (
  userIds: readonly number[],
) => Promise<Map<number, Record<string, unknown>>>;

/**
 * Lets rooms that depend on accounts add fields to the User objects it answers with, without accounts
 * depending on them. Each extension is asked once per answer with every user id of it (a page of a list
 * is one query per extension, never one per user).
 */
@Injectable()
export class UserAnswerHooks {
  private readonly extensions: UserAnswerExtension[] = [];

  extend(extension: UserAnswerExtension): void {
    this.extensions.push(extension);
  }

  async extrasOf(userIds: readonly number[]): Promise<Map<number, Record<string, unknown>>> {
    const extras = new Map<number, Record<string, unknown>>();
    if (userIds.length === 0) return extras;
    for (const found of await Promise.all(this.extensions.map((extension) => extension(userIds)))) {
      for (const [id, fields] of found) extras.set(id, { ...extras.get(id), ...fields });
    }
    return extras;
  }
}
