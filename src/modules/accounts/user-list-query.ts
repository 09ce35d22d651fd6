import { DomainError } from '../../common/errors/domain-error';

/** The parsed, validated filters of `GET user/` (ArkID's filter set that the accounts room can answer). */
export interface UserListFilter {
  keyword?: string;
  exact: Partial<Record<TextField, string>>;
  contains: Partial<Record<TextField, string>>;
  gender?: number;
  createdGte?: Date;
  createdLte?: Date;
  lastActiveGte?: Date;
  lastActiveLte?: Date;
  userIds?: number[];
  usernames?: string[];
  /** `group_uids`: direct members of any of these groups; `-group_uids`: none of them. */
  groupUids?: string[];
  excludedGroupUids?: string[];
  sort: { column: SortColumn; descending: boolean }[];
}

export const TEXT_FIELDS = ['name', 'username', 'email', 'private_email', 'mobile', 'remark'] as const;
export type TextField = (typeof TEXT_FIELDS)[number];

/** Sortable ArkID model fields and the column behind each. */
export const SORT_COLUMNS = {
  id: 'id',
  user_id: 'id',
  username: 'username',
  name: 'name',
  email: 'email',
  private_email: 'private_email',
  mobile: 'mobile',
  employee_number: 'employee_number',
  gender: 'gender',
  position: 'position',
  hiredate: 'hiredate',
  created: 'created_at',
  last_active_time: 'last_active_time',
} as const;
export type SortColumn = (typeof SORT_COLUMNS)[keyof typeof SORT_COLUMNS];

const MAX_LIST_ITEMS = 1000;

function single(query: Record<string, unknown>, key: string): string | undefined {
  const value = query[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new DomainError('common.validation', 400, { [key]: ['Expected a single value.'] });
  if (value.length > 1024) {
    throw new DomainError('common.validation', 400, {
      [key]: ['Ensure this value has no more than 1024 characters.'],
    });
  }
  return value;
}

function dateParam(query: Record<string, unknown>, key: string): Date | undefined {
  const raw = single(query, key);
  if (raw === undefined || raw === '') return undefined;
  // ISO-8601 date or datetime; a date alone means its start in UTC.
  const date = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw)
    ? new Date(raw.replace(' ', 'T'))
    : new Date(NaN);
  if (Number.isNaN(date.getTime())) {
    throw new DomainError('common.validation', 400, { [key]: ['Enter a valid date/time.'] });
  }
  return date;
}

function listParam(query: Record<string, unknown>, key: string): string[] | undefined {
  const raw = single(query, key);
  if (raw === undefined) return undefined;
  const items = raw.split(/[\s,]+/).filter(Boolean);
  if (items.length > MAX_LIST_ITEMS) {
    throw new DomainError('common.validation', 400, {
      [key]: [`Ensure this list has no more than ${MAX_LIST_ITEMS} items.`],
    });
  }
  return items;
}

export function parseUserListQuery(query: Record<string, unknown>): UserListFilter {
  const filter: UserListFilter = { exact: {}, contains: {}, sort: [] };
  const keyword = single(query, 'keyword');
  if (keyword) filter.keyword = keyword;
  for (const field of TEXT_FIELDS) {
    const exact = single(query, field);
    if (exact !== undefined && exact !== '') filter.exact[field] = exact;
    const contains = single(query, `${field}__icontains`);
    if (contains !== undefined && contains !== '') filter.contains[field] = contains;
  }
  const gender = single(query, 'gender');
  if (gender !== undefined && gender !== '') {
    if (!/^[0-2]$/.test(gender))
      throw new DomainError('common.validation', 400, { gender: ['Select a valid choice.'] });
    filter.gender = Number(gender);
  }
  filter.createdGte = dateParam(query, 'created__gte');
  filter.createdLte = dateParam(query, 'created__lte');
  filter.lastActiveGte = dateParam(query, 'last_active_time__gte');
  filter.lastActiveLte = dateParam(query, 'last_active_time__lte');
  const userIds = listParam(query, 'user_ids');
  if (userIds) {
    if (!userIds.every((id) => /^\d{1,10}$/.test(id))) {
      throw new DomainError('common.validation', 400, { user_ids: ['Enter a list of whole numbers.'] });
    }
    filter.userIds = userIds.map(Number);
  }
  filter.usernames = listParam(query, 'usernames');
  filter.groupUids = listParam(query, 'group_uids');
  filter.excludedGroupUids = listParam(query, '-group_uids');
  const sort = listParam(query, 'sort');
  for (const term of sort ?? []) {
    const descending = term.startsWith('-');
    const name = descending ? term.slice(1) : term;
    const column = (SORT_COLUMNS as Record<string, SortColumn>)[name];
    if (!column)
      throw new DomainError('account.invalid_sort', 400, { sort: `Invalid order_by argument: '${term}'` });
    filter.sort.push({ column, descending });
  }
  return filter;
}

/**
 * Filters of a group's member list (`group/{uid}/user/`): `name`, `username`, `email`, `mobile` are
 * substring matches, plus `before_`/`after_` bounds on `created` and `last_active_time`.
 */
export function parseMemberListQuery(query: Record<string, unknown>): UserListFilter {
  const filter: UserListFilter = { exact: {}, contains: {}, sort: [] };
  for (const field of ['name', 'username', 'email', 'mobile'] as const) {
    const contains = single(query, field);
    if (contains !== undefined && contains !== '') filter.contains[field] = contains;
  }
  filter.createdLte = dateParam(query, 'before_created');
  filter.createdGte = dateParam(query, 'after_created');
  filter.lastActiveLte = dateParam(query, 'before_last_active_time');
  filter.lastActiveGte = dateParam(query, 'after_last_active_time');
  return filter;
}
