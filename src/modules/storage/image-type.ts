/** Image formats accepted for avatars and logos, recognised by their first bytes (never by the client's word). */
export interface ImageType {
  mime: string;
  ext: string;
}

const SIGNATURES: { mime: string; ext: string; test: (b: Buffer) => boolean }[] = [
  {
    mime: 'image/png',
    ext: '.png',
    test: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  },
  { mime: 'image/jpeg', ext: '.jpg', test: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { mime: 'image/gif', ext: '.gif', test: (b) => /^GIF8[79]a$/.test(b.subarray(0, 6).toString('latin1')) },
  {
    mime: 'image/webp',
    ext: '.webp',
    test: (b) =>
      b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP',
  },
];

export function detectImage(head: Buffer): ImageType | null {
  const found = SIGNATURES.find((s) => head.length >= 12 && s.test(head));
  return found ? { mime: found.mime, ext: found.ext } : null;
}

/** Stored names: 32 hex characters and the detected extension (contract `<32hex><ext>`). */
export const STORED_NAME = /^[0-9a-f]{32}\.(png|jpg|gif|webp)$/;

export function mimeOfStoredName(name: string): string {
  const ext = name.slice(name.lastIndexOf('.'));
  return SIGNATURES.find((s) => s.ext === ext)?.mime ?? 'application/octet-stream';
}
