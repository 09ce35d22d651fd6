import type { Request } from 'express';
import { CommonErrors } from '../errors/domain-error';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export interface PageRequest {
  page: number;
  pageSize: number;
  offset: number;
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

/** DRF PageNumberPagination: a bad page is 404 "Invalid page."; a bad page_size falls back to the default. */
export function pageRequest(query: Record<string, unknown>): PageRequest {
  const rawPage = query.page;
  let page = 1;
  if (rawPage !== undefined && rawPage !== 'last') {
    if (typeof rawPage !== 'string' || !/^\d{1,9}$/.test(rawPage) || Number(rawPage) < 1)
      throw CommonErrors.invalidPage();
    page = Number(rawPage);
  }
  let pageSize = DEFAULT_PAGE_SIZE;
  const rawSize = query.page_size;
  if (typeof rawSize === 'string' && /^\d{1,9}$/.test(rawSize) && Number(rawSize) > 0) {
    pageSize = Math.min(Number(rawSize), MAX_PAGE_SIZE);
  }
  return { page, pageSize, offset: (page - 1) * pageSize };
}

/** Checks the page exists and builds absolute next/previous links from the public base URL. */
export function toPage<T>(
  req: Request,
  baseUrl: string,
  request: PageRequest,
  count: number,
  results: T[],
): Page<T> {
  const lastPage = Math.max(1, Math.ceil(count / request.pageSize));
  if (request.page > lastPage) throw CommonErrors.invalidPage();
  const link = (page: number): string => {
    const url = new URL(baseUrl + req.originalUrl);
    if (page === 1) url.searchParams.delete('page');
    else url.searchParams.set('page', String(page));
    return url.toString();
  };
  return {
    count,
    next: request.page < lastPage ? link(request.page + 1) : null,
    previous: request.page > 1 ? link(request.page - 1) : null,
    results,
  };
}
