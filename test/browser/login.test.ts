/**
 * One real browser (Debian's Chromium, driven by playwright-core) signs in to the demo app
 * through the emulator's login page, sees the user and the VideoManagers, and signs out.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDemo, startDemo } from '../../packages/cli/src/demo/server.js';
import { CHROMIUM, hasChromium, launchChromium } from '../frameworks/harness.js';

describe.skipIf(!hasChromium)(`signing in with a real browser (needs Chromium at ${CHROMIUM})`, () => {
  let demo: RunningDemo;
  let browser: Browser;

  beforeAll(async () => {
    demo = await startDemo({ env: { PORT: '0' } });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
  });

  it('signs in through the login page, shows the user and the VideoManagers, and signs out', async () => {
    const page = await browser.newPage();
    await page.goto(`${demo.url}/`);
    await page.click('#sign-in');
    await page.waitForSelector('#kc-login');
    expect(await page.title()).toContain('Sign in to VideoManager Pro');
    await page.fill('#username', 'demo');
    await page.fill('#password', 'demo');
    await page.click('#kc-login');
    await page.waitForSelector('#user-name');
    expect(page.url()).toBe(`${demo.url}/`);
    expect(await page.textContent('#user-name')).toBe('Dana Demo');
    expect(await page.textContent('#vms')).toContain('Demo Marketing');
    expect(await page.textContent('#at')).toMatch(/min|s/);

    const cookies = await page.context().cookies(demo.url);
    const session = cookies.find((c) => c.name === demo.auth.sessions.cookieName);
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Lax');

    await page.click('#sign-out');
    await page.waitForSelector('#sign-in');
    expect(page.url()).toBe(`${demo.url}/`);
    const me = await page.evaluate(
      async () => (await fetch('/me', { headers: { accept: 'application/json' } })).status,
    );
    expect(me).toBe(401);
  });
});
