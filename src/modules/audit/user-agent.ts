import { UAParser } from 'ua-parser-js';

export interface ParsedUserAgent {
  os: string;
  browser: string;
}

const CACHE_LIMIT = 500;
const MAX_UA_CHARS = 512;
const cache = new Map<string, ParsedUserAgent>();

function join(name: string | undefined, version: string | undefined): string {
  if (!name) return '';
  return (version ? `${name} ${version}` : name).slice(0, 64);
}

/**
 * OS and browser of a User-Agent header ("Windows 10", "Chrome 120.0.0.0"), empty when unknown.
 * Clients send few distinct agents, so parses are cached (bounded; the oldest goes first).
 */
export function parseUserAgent(userAgent: string): ParsedUserAgent {
  const ua = userAgent.slice(0, MAX_UA_CHARS);
  const hit = cache.get(ua);
  if (hit) return hit;
  const result = new UAParser(ua).getResult();
  const parsed = {
    os: join(result.os.name, result.os.version),
    browser: join(result.browser.name, result.browser.version),
  };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(ua, parsed);
  return parsed;
}
