import { detectImage, mimeOfStoredName, STORED_NAME } from './image-type';

const pad = (bytes: number[]): Buffer => Buffer.concat([Buffer.from(bytes), Buffer.alloc(16)]);

describe('detectImage', () => {
  it('recognises PNG, JPEG, GIF and WebP by their signatures', () => {
    expect(detectImage(pad([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))?.ext).toBe('.png');
    expect(detectImage(pad([0xff, 0xd8, 0xff, 0xe0]))?.mime).toBe('image/jpeg');
    expect(detectImage(pad([...Buffer.from('GIF89a')]))?.ext).toBe('.gif');
    const webp = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 ')]);
    expect(detectImage(webp)?.mime).toBe('image/webp');
  });

  it('refuses anything else, including SVG and HTML that could run script', () => {
    expect(detectImage(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"></svg>'))).toBeNull();
    expect(detectImage(Buffer.from('<html><script>alert(1)</script></html>'))).toBeNull();
    expect(detectImage(Buffer.from([0x89, 0x50]))).toBeNull();
  });

  it('names stored files by 32 hex characters and a known extension only', () => {
    expect(STORED_NAME.test('0123456789abcdef0123456789abcdef.png')).toBe(true);
    expect(STORED_NAME.test('../etc/passwd')).toBe(false);
    expect(STORED_NAME.test('0123456789abcdef0123456789abcdef.svg')).toBe(false);
    expect(mimeOfStoredName('0123456789abcdef0123456789abcdef.webp')).toBe('image/webp');
  });
});
