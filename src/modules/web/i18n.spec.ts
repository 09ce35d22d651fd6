import { languageCookieFrom, pickLanguage, translator } from './i18n';

describe('pickLanguage', () => {
  it('prefers the chosen language over Accept-Language', () => {
    expect(pickLanguage('en', 'zh-CN,zh;q=0.9')).toBe('en');
    expect(pickLanguage('zh-CN', 'en-US')).toBe('zh-CN');
  });

  it('follows Accept-Language quality values and order', () => {
    expect(pickLanguage(undefined, 'fr-FR, en-GB;q=0.8, zh;q=0.7')).toBe('en');
    expect(pickLanguage(undefined, 'en;q=0.3, zh-TW;q=0.9')).toBe('zh-CN');
    expect(pickLanguage(undefined, 'en;q=0, zh;q=0')).toBe('zh-CN');
  });

  it('falls back to Chinese for unknown or absent preferences and ignores bad cookies', () => {
    expect(pickLanguage(undefined, undefined)).toBe('zh-CN');
    expect(pickLanguage('de', 'de-DE')).toBe('zh-CN');
  });
});

describe('translator', () => {
  it('fills placeholders and leaves unknown ones', () => {
    expect(translator('en')('locked', { seconds: '30' })).toBe(
      'Too many failed attempts. Try again in 30 seconds',
    );
    expect(translator('zh-CN')('sign_in_to', {})).toBe('登录以继续使用 {app}');
  });
});

describe('languageCookieFrom', () => {
  it('reads the plain and __Host- cookie', () => {
    expect(languageCookieFrom('a=1; arbor_lang=en')).toBe('en');
    expect(languageCookieFrom('__Host-arbor_lang=zh-CN; b=2')).toBe('zh-CN');
    expect(languageCookieFrom('b=2')).toBeUndefined();
  });
});
