import type { Request } from 'express';
import { DomainError } from '../errors/domain-error';
import { pageRequest, toPage } from './pagination';

const req = (originalUrl: string) => ({ originalUrl }) as Request;

describe('pagination', () => {
  it('defaults to page 1 of 20 and caps page_size at 100', () => {
    expect(pageRequest({})).toEqual({ page: 1, pageSize: 20, offset: 0 });
    expect(pageRequest({ page: '3', page_size: '500' })).toEqual({ page: 3, pageSize: 100, offset: 200 });
    expect(pageRequest({ page_size: 'abc' }).pageSize).toBe(20);
  });

  it('rejects a malformed page with 404 Invalid page.', () => {
    for (const page of ['0', '-1', 'x', ['1', '2']]) {
      expect(() => pageRequest({ page })).toThrow(DomainError);
    }
  });

  it('builds absolute links that keep the other query parameters', () => {
    const page = toPage(
      req('/siteapi/v1/user/?keyword=a&page=2'),
      'https://id.example.com',
      pageRequest({ page: '2' }),
      45,
      [],
    );
    expect(page.next).toBe('https://id.example.com/siteapi/v1/user/?keyword=a&page=3');
    expect(page.previous).toBe('https://id.example.com/siteapi/v1/user/?keyword=a');
  });

  it('answers a page past the end with 404 but allows page 1 of nothing', () => {
    expect(toPage(req('/x/'), 'http://h', pageRequest({}), 0, []).count).toBe(0);
    expect(() => toPage(req('/x/?page=2'), 'http://h', pageRequest({ page: '2' }), 20, [])).toThrow(
      'common.invalid_page',
    );
  });
});
