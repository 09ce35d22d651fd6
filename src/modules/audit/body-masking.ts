/**
 * Structural redaction of request bodies for the audit log (ArkID defect D7 was a regex over compact
 * JSON). The parsed body is walked: any key whose name contains one of the secret words, in any case,
 * at any depth (inside arrays too), has its value replaced; the result is bounded in depth, breadth,
 * string length and total size, so no body can bloat the log.
 */
export const MASK = '******';
const SECRET_KEY = /password|passwd|pwd|token|secret|code|key|captcha|authorization|cookie/i;
const MAX_DEPTH = 8;
const MAX_ITEMS = 100;
const MAX_STRING = 1000;
export const MAX_BODY_CHARS = 8192;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** A JSON-safe copy of `value` with every secret masked and every part bounded. */
export function maskBody(value: unknown, depth = 0): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  if (typeof value !== 'object') return null;
  if (depth >= MAX_DEPTH) return '…';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((item) => maskBody(item, depth + 1));
    if (value.length > MAX_ITEMS) items.push(`… ${value.length - MAX_ITEMS} more`);
    return items;
  }
  const out: Record<string, unknown> = {};
  let kept = 0;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (kept === MAX_ITEMS) {
      out['…'] = 'more keys';
      break;
    }
    out[key] = isSecretKey(key) ? MASK : maskBody(item, depth + 1);
    kept += 1;
  }
  return out;
}

/**
 * The masked body as the JSON text stored with an entry, or null for no body (absent or empty).
 * Text over the cap is cut, and says so; it is for reading, never parsed back.
 */
export function maskedBodyText(body: unknown): string | null {
  if (body === undefined || body === null) return null;
  if (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0) return null;
  const text = JSON.stringify(maskBody(body));
  return text.length > MAX_BODY_CHARS ? `${text.slice(0, MAX_BODY_CHARS)}…(truncated)` : text;
}
