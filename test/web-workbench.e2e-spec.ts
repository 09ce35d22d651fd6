import { WORKBENCH_PAGE_SIZE } from '../src/modules/web/web.controller';
import { browser, signInThroughPage } from './harness/oauth';
import { API, createTestApp, createUser, login, type TestApp } from './harness/test-app';

/** The hosted workbench pages through however many apps a user may use, as the API does. */
describe('workbench pages', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const namesOn = (page: string) => [...page.matchAll(/<h2>([^<]*)<\/h2>/g)].map((match) => match[1]);

  it('lists every permitted app once across its pages, with links between them', async () => {
    const admin = { Authorization: `Token ${await t.adminToken()}` };
    for (let i = 0; i < WORKBENCH_PAGE_SIZE + 5; i++) {
      await t.http
        .post(`${API}/app/`)
        .set(admin)
        .send({ name: `Paged app ${i}`, uid: `paged${i}`, allow_any_user: true })
        .expect(201);
    }
    await t.http.post(`${API}/app/`).set(admin).send({ name: 'Closed app', uid: 'closedpaged' }).expect(201);
    const user = await createUser(t);
    const permitted = await t.http
      .get(`${API}/ucenter/apps/?page_size=1000`)
      .set('Authorization', `Token ${await login(t.http, user)}`)
      .expect(200);
    const expected = (permitted.body.results as Array<{ name: string }>).map((app) => app.name);
    expect(expected.length).toBeGreaterThan(WORKBENCH_PAGE_SIZE);
    expect(expected.length).toBeLessThanOrEqual(WORKBENCH_PAGE_SIZE * 2);

    const agent = browser(t);
    await signInThroughPage(agent, user);
    const first = (await agent.get('/workbench/').expect(200)).text;
    expect(namesOn(first)).toHaveLength(WORKBENCH_PAGE_SIZE);
    expect(first).toContain('href="/workbench/?page=2" rel="next"');
    expect(first).not.toContain('rel="prev"');
    const second = (await agent.get('/workbench/?page=2').expect(200)).text;
    expect(second).toContain('href="/workbench/?page=1" rel="prev"');
    expect(second).not.toContain('rel="next"');
    const shown = [...namesOn(first), ...namesOn(second)];
    expect(shown.sort()).toEqual([...expected].sort());
    expect(shown).not.toContain('Closed app');

    // Past the end, or not a page: the error page, not the API's JSON.
    for (const page of ['3', '0', 'abc']) {
      const refused = await agent.get(`/workbench/?page=${page}`).expect(404);
      expect(refused.headers['content-type']).toMatch(/^text\/html/);
    }
  });
});
