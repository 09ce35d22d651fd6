import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import type { TestApp } from './test-app';

/** Debian's Chromium, which .ci/run installs. */
const CHROMIUM = '/usr/bin/chromium';

/** Puts the app on a loopback port and starts headless Chromium for the browser suites. */
export async function openBrowser(t: TestApp): Promise<{ base: string; browser: Browser }> {
  await t.app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  return { base, browser };
}
