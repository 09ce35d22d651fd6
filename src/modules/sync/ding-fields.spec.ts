import { fieldsOf, usernameBase } from './ding-pull.service';

describe('DingTalk member to Arbor fields', () => {
  it('maps the fields DingTalk sent and leaves out the ones it omitted (missing personal-info scope)', () => {
    expect(
      fieldsOf({
        userid: 'a',
        name: '张三',
        mobile: '13800000000',
        state_code: '86',
        title: '经理',
        dept_id_list: [1],
        depts: [1],
      }),
    ).toEqual({ fields: { name: '张三', mobile: '13800000000', position: '经理' }, problems: [] });
    expect(fieldsOf({ userid: 'a', name: 'B', dept_id_list: [1], depts: [1] }).fields).toEqual({ name: 'B' });
  });

  it('writes foreign numbers with their country code and refuses malformed ones', () => {
    expect(
      fieldsOf({ userid: 'a', name: 'x', mobile: '91234567', state_code: '852', dept_id_list: [], depts: [] })
        .fields.mobile,
    ).toBe('+852 91234567');
    const bad = fieldsOf({ userid: 'a', name: 'x', mobile: '12', dept_id_list: [], depts: [] });
    expect(bad.fields.mobile).toBeUndefined();
    expect(bad.problems).toHaveLength(1);
  });

  it('prefers the organisation e-mail', () => {
    expect(
      fieldsOf({ userid: 'a', name: 'x', email: 'p@x', org_email: 'o@x', dept_id_list: [], depts: [] }).fields
        .email,
    ).toBe('o@x');
  });

  it('derives usernames of 4 to 32 lowercase letters and digits', () => {
    expect(usernameBase('ZhangSan')).toBe('zhangsan');
    expect(usernameBase('0-1')).toBe('ding01');
    expect(usernameBase('a'.repeat(40))).toHaveLength(32);
    expect(usernameBase('manager7931')).toMatch(/^[a-z0-9]{4,32}$/);
  });
});
