import { inflateSync } from 'node:zlib';
import { CAPTCHA_LENGTH, encodeGrayscalePng, randomCaptchaAnswer, renderCaptchaPng } from './captcha-image';

describe('captcha image', () => {
  it('draws answers of five digits', () => {
    for (let i = 0; i < 20; i += 1)
      expect(randomCaptchaAnswer()).toMatch(new RegExp(`^\\d{${CAPTCHA_LENGTH}}$`));
  });

  it('encodes a valid grayscale PNG whose pixels read back', () => {
    const png = encodeGrayscalePng(Uint8Array.from([0, 128, 255, 7]), 2, 2);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(2);
    expect(png.readUInt32BE(20)).toBe(2);
    const idatLength = png.readUInt32BE(33);
    expect(png.subarray(37, 41).toString('latin1')).toBe('IDAT');
    const raw = inflateSync(png.subarray(41, 41 + idatLength));
    expect([...raw]).toEqual([0, 0, 128, 0, 255, 7]);
    expect(png.subarray(-8, -4).toString('latin1')).toBe('IEND');
  });

  it('renders different noise for the same answer', () => {
    const a = renderCaptchaPng('12345');
    expect(a.subarray(12, 16).toString('latin1')).toBe('IHDR');
    expect(a.equals(renderCaptchaPng('12345'))).toBe(false);
  });
});
