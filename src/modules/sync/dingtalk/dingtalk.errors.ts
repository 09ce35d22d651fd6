/** What DingTalk answered when it did not answer success, keyed on its codes (never its wording). */
export class DingTalkError extends Error {
  constructor(
    readonly api: string,
    readonly errcode: number | string,
    readonly errmsg: string,
    readonly subCode?: string,
  ) {
    super(`DingTalk ${api}: ${errcode}${subCode ? `/${subCode}` : ''} ${errmsg}`);
    this.name = 'DingTalkError';
  }
}

/** The app lacks a permission scope DingTalk requires for an API; a retry cannot help. */
export class DingTalkScopeError extends DingTalkError {
  constructor(
    api: string,
    errcode: number | string,
    errmsg: string,
    readonly scope: string,
  ) {
    super(api, errcode, errmsg);
    this.name = 'DingTalkScopeError';
    this.message = `DingTalk app lacks the permission scope "${scope}" (needed by ${api}); grant it in the DingTalk developer console`;
  }
}

/** Bad app key or secret (gettoken 40096/40035, or invalidClientIdOrSecret). */
export class DingTalkCredentialsError extends DingTalkError {
  constructor(api: string, errcode: number | string, errmsg: string) {
    super(api, errcode, errmsg);
    this.name = 'DingTalkCredentialsError';
    this.message = `DingTalk rejected the app key or secret (${errcode} ${errmsg})`;
  }
}

/** The organisation's monthly API quota is used up (90020): stop, do not hammer. */
export class DingTalkQuotaError extends DingTalkError {
  constructor(api: string, errcode: number, errmsg: string) {
    super(api, errcode, errmsg);
    this.name = 'DingTalkQuotaError';
  }
}

/** Which scope each API needs, for naming it when DingTalk's message does not. */
export const API_SCOPES: Record<string, string> = {
  'topapi/v2/department/listsub': 'qyapi_get_department_list',
  'topapi/v2/department/get': 'qyapi_get_department_list',
  'topapi/v2/user/list': 'qyapi_get_department_member',
  'topapi/user/listid': 'qyapi_get_department_member',
  'topapi/v2/user/get': 'qyapi_get_member',
  'topapi/role/list': 'qyapi_get_member',
  'topapi/role/simplelist': 'qyapi_get_member',
  'topapi/user/getbyunionid': 'qyapi_get_member',
  'topapi/v2/user/create': 'qyapi_manage_addresslist',
  'topapi/v2/user/update': 'qyapi_manage_addresslist',
  'topapi/v2/user/delete': 'qyapi_manage_addresslist',
  'topapi/v2/department/create': 'qyapi_manage_addresslist',
  'topapi/v2/department/update': 'qyapi_manage_addresslist',
  'topapi/v2/department/delete': 'qyapi_manage_addresslist',
};
