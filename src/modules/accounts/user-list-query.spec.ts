import { parseUserListQuery } from './user-list-query';

describe('parseUserListQuery', () => {
  it('reads text filters, ranges, lists and sort', () => {
    const filter = parseUserListQuery({
      keyword: 'li',
      name: '李雷',
      mobile__icontains: '138',
      gender: '1',
      created__gte: '2026-01-01',
      last_active_time__lte: '2026-02-01T08:00:00+08:00',
      usernames: 'alice bob',
      user_ids: '1 2',
      sort: '-created username',
    });
    expect(filter).toMatchObject({
      keyword: 'li',
      exact: { name: '李雷' },
      contains: { mobile: '138' },
      gender: 1,
      usernames: ['alice', 'bob'],
      userIds: [1, 2],
      sort: [
        { column: 'created_at', descending: true },
        { column: 'username', descending: false },
      ],
    });
    expect(filter.createdGte?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(filter.lastActiveLte?.toISOString()).toBe('2026-02-01T00:00:00.000Z');
  });

  it('answers bad values with the field named', () => {
    expect(() => parseUserListQuery({ sort: 'password_hash' })).toThrow(
      expect.objectContaining({ body: { sort: "Invalid order_by argument: 'password_hash'" } }),
    );
    expect(() => parseUserListQuery({ created__gte: 'yesterday' })).toThrow(
      expect.objectContaining({ body: { created__gte: ['Enter a valid date/time.'] } }),
    );
    expect(() => parseUserListQuery({ gender: '7' })).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => parseUserListQuery({ user_ids: '1 x' })).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => parseUserListQuery({ keyword: ['a', 'b'] })).toThrow(
      expect.objectContaining({ status: 400 }),
    );
  });
});
