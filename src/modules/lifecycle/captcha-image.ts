import { randomInt } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';

/** 5×7 bitmaps of the digits, one string of 35 bits per digit, row by row. */
const GLYPHS: Record<string, string> = {
  '0': '01110100011001110101110011000101110',
  '1': '00100011000010000100001000010001110',
  '2': '01110100010000100010001000100011111',
  '3': '11111000100010000010000011000101110',
  '4': '00010001100101010010111110001000010',
  '5': '11111100001111000001000011000101110',
  '6': '00110010001000011110100011000101110',
  '7': '11111000010001000100010000100001000',
  '8': '01110100011000101110100011000101110',
  '9': '01110100011000101111000010001001100',
};

export const CAPTCHA_LENGTH = 5;
const WIDTH = 150;
const HEIGHT = 50;
const SCALE = 4;

export function randomCaptchaAnswer(): string {
  return Array.from({ length: CAPTCHA_LENGTH }, () => String(randomInt(10))).join('');
}

/** A grayscale PNG of the answer, each digit shifted at random, over random noise and lines. */
export function renderCaptchaPng(answer: string): Buffer {
  const pixels = new Uint8Array(WIDTH * HEIGHT).fill(235);
  const dot = (x: number, y: number, shade: number) => {
    if (x >= 0 && x < WIDTH && y >= 0 && y < HEIGHT) pixels[y * WIDTH + x] = shade;
  };
  for (let i = 0; i < 500; i += 1) dot(randomInt(WIDTH), randomInt(HEIGHT), randomInt(120, 220));
  [...answer].forEach((char, index) => {
    const glyph = GLYPHS[char];
    if (!glyph) throw new Error(`no glyph for ${char}`);
    const left = 8 + index * 28 + randomInt(-3, 4);
    const top = 8 + randomInt(-5, 6);
    const shade = randomInt(20, 90);
    for (let row = 0; row < 7; row += 1) {
      for (let col = 0; col < 5; col += 1) {
        if (glyph[row * 5 + col] !== '1') continue;
        for (let dy = 0; dy < SCALE; dy += 1) {
          for (let dx = 0; dx < SCALE; dx += 1) dot(left + col * SCALE + dx, top + row * SCALE + dy, shade);
        }
      }
    }
  });
  for (let line = 0; line < 4; line += 1) {
    const y = randomInt(HEIGHT);
    const slope = (randomInt(HEIGHT) - y) / WIDTH;
    const shade = randomInt(40, 140);
    for (let x = 0; x < WIDTH; x += 1) dot(x, Math.round(y + slope * x), shade);
  }
  return encodeGrayscalePng(pixels, WIDTH, HEIGHT);
}

export function encodeGrayscalePng(pixels: Uint8Array, width: number, height: number): Buffer {
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y += 1) {
    raw[y * (width + 1)] = 0;
    raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // grayscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}
