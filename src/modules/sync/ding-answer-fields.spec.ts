import { dingNodeField, dingUserField } from './ding-answer-fields';

describe('DingTalk answer fields', () => {
  it('ding_user: the userid, the mobile as account, the stored data as text', () => {
    const data = JSON.stringify({ name: '张三', mobile: '13800000000', dept_id_list: [2] });
    expect(dingUserField({ dingUserid: 'zhangsan', data })).toEqual({
      uid: 'zhangsan',
      account: '13800000000',
      data,
    });
    expect(dingUserField({ dingUserid: 'x', data: null })).toEqual({ uid: 'x', account: '', data: '{}' });
    expect(dingUserField({ dingUserid: 'x', data: 'not json' }).account).toBe('');
  });

  it('ding_dept for departments, ding_group for role groups and roles; other keys none', () => {
    expect(dingNodeField({ dingKey: 'dept:12', data: '{"name":"研发"}' })).toEqual({
      ding_dept: { uid: 12, data: '{"name":"研发"}' },
    });
    expect(dingNodeField({ dingKey: 'rolegroup:7', data: null })).toEqual({
      ding_group: { uid: 7, data: '{}', subject: 'role', is_group: true },
    });
    expect(dingNodeField({ dingKey: 'role:8', data: '{}' })).toEqual({
      ding_group: { uid: 8, data: '{}', subject: 'role', is_group: false },
    });
    expect(dingNodeField({ dingKey: 'label:1', data: '{}' })).toBeNull();
    expect(dingNodeField({ dingKey: 'dept:x', data: '{}' })).toBeNull();
  });
});
