import { SecretBox } from '../../common/crypto/secret-box';
import { openWithAny } from './settings.service';

describe('settings secrets sealed under a former purpose', () => {
  const key = 'k'.repeat(32);
  const current = new SecretBox(key, 'site-config');
  const former = new SecretBox(key, 'dingtalk');

  it('opens with the current box first, else with the former one', () => {
    expect(openWithAny(current.seal('now'), current, former)).toBe('now');
    expect(openWithAny(former.seal('before'), current, former)).toBe('before');
  });

  it('refuses what neither box sealed', () => {
    const other = new SecretBox('x'.repeat(32), 'site-config');
    expect(() => openWithAny(other.seal('s'), current, former)).toThrow();
    expect(() => openWithAny(former.seal('s'), current)).toThrow();
  });
});
