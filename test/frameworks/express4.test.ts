/**
 * A real Express 4 app (`apps/express4`: express 4.22, @types/express 4, the packed library,
 * compiled by its own tsc), mounted under `/portal`, started as a process; Chromium signs in
 * through the emulator's form, sees the user and the VideoManagers, survives an access-token
 * expiry and signs out. Also: an async route that throws reaches `errorHandler()` and the process
 * lives on.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, fillLoginForm, hasChromium, launchChromium } from './harness.js';
import { browserFlow, type RunningNodeApp, startNodeApp } from './node-apps.js';

describe.skipIf(!hasChromium)(`Express 4 under /portal, in Chromium (needs Chromium at ${CHROMIUM})`, () => {
  let running: RunningNodeApp;
  let browser: Browser;

  beforeAll(async () => {
    const started = Date.now();
    running = await startNodeApp('express4', {
      callbackPath: '/portal/auth/callback',
      readyPath: '/portal/healthz',
    });
    browser = await launchChromium();
    console.log(
      `express4: ${running.installed ? 'cold (npm install)' : 'warm'} prepare+build ${running.prepareMs} ms, ready ${Date.now() - started} ms`,
    );
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await running?.stop();
  });

  it('signs in under /portal, survives an access-token expiry, and signs out', async () => {
    const { refreshesBefore, refreshesAfter } = await browserFlow(browser, running, {
      page: '/portal/videos',
      api: '/portal/api/vms',
    });
    console.log(`express4: refresh_token grants ${refreshesBefore} → ${refreshesAfter}`);
  }, 60_000);

  it('hands an async route that throws to errorHandler(), and the process keeps serving', async () => {
    const { origin } = running.app;
    const r = await fetch(`${origin}/portal/boom`, { headers: { accept: 'application/json' } });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('30');
    expect(await r.json()).toEqual({
      error: 'VMPRO_UPSTREAM_UNAVAILABLE',
      message: 'The video service is down for maintenance.',
    });
    // Past the point where an unhandled rejection would have ended the process.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await fetch(`${origin}/portal/healthz`)).status).toBe(200);
    expect(running.app.output()).not.toContain('unhandled rejection');
  });

  it("shows the API's own 404 for a video that does not exist as a 404 page, not a 500", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${running.app.origin}/portal/videos`);
    await page.waitForSelector('#kc-login');
    await fillLoginForm(page);
    await page.waitForSelector('#user-name');
    const response = await page.goto(`${running.app.origin}/portal/missing-video`);
    expect(response?.status()).toBe(404);
    expect(await page.textContent('body')).toContain('VMPRO_API_ERROR');
    await context.close();
  }, 60_000);

  it('does not serve the auth routes outside the mount point', async () => {
    const r = await fetch(`${running.app.origin}/auth/login`, { redirect: 'manual' });
    expect(r.status).toBe(404);
  });
});
