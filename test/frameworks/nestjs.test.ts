/**
 * A real NestJS 11 app (`apps/nestjs`: CommonJS and decorators as `nest new` makes it, compiled
 * by its own tsc, the packed library required from CommonJS, configuration through
 * `VmproModule.forRootAsync` and `ConfigService`), started as a process. Chromium signs in through
 * the emulator's form, sees the user and the VideoManagers on the guarded `/videos` (via
 * `@VmproUser()` and `@VmproApi()`), survives an access-token expiry and signs out; the API's own
 * 404 reaches the browser as a 404 through the module's exception filter; with a global prefix
 * the auth routes and the guard's redirect live under it.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, fillLoginForm, hasChromium, launchChromium } from './harness.js';
import { browserFlow, type RunningNodeApp, startNodeApp } from './node-apps.js';

describe.skipIf(!hasChromium)(`NestJS in Chromium (needs Chromium at ${CHROMIUM})`, () => {
  let running: RunningNodeApp;
  let browser: Browser;

  beforeAll(async () => {
    const started = Date.now();
    running = await startNodeApp('nestjs', { readyPath: '/healthz' });
    browser = await launchChromium();
    console.log(
      `nestjs: ${running.installed ? 'cold (npm install)' : 'warm'} prepare+build ${running.prepareMs} ms, ready ${Date.now() - started} ms`,
    );
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await running?.stop();
  });

  it('signs in to the guarded /videos, survives an access-token expiry, and signs out', async () => {
    const { refreshesBefore, refreshesAfter } = await browserFlow(browser, running, {
      page: '/videos',
      api: '/api/vms',
    });
    console.log(`nestjs: refresh_token grants ${refreshesBefore} → ${refreshesAfter}`);
  }, 60_000);

  it("shows the API's own 404 for a video that does not exist as a 404 page, not Nest's 500", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${running.app.origin}/videos`);
    await fillLoginForm(page);
    await page.waitForSelector('#user-name');
    const response = await page.goto(`${running.app.origin}/missing-video`);
    expect(response?.status()).toBe(404);
    expect(await page.textContent('body')).toContain('VMPRO_API_ERROR');
    await context.close();
  }, 60_000);

  it('answers the guarded API route without a session with 401 JSON from the filter', async () => {
    const r = await fetch(`${running.app.origin}/api/vms`, { headers: { accept: 'application/json' } });
    expect(r.status).toBe(401);
    expect(await r.json()).toMatchObject({ error: 'VMPRO_NOT_AUTHENTICATED' });
  });
});

describe('NestJS with a global prefix (the same app, GLOBAL_PREFIX=portal)', () => {
  let running: RunningNodeApp;

  beforeAll(async () => {
    running = await startNodeApp('nestjs', {
      readyPath: '/portal/healthz',
      callbackPath: '/portal/auth/callback',
      env: { GLOBAL_PREFIX: 'portal' },
    });
  }, 600_000);

  afterAll(async () => {
    await running?.stop();
  });

  it('serves the auth routes under the prefix', async () => {
    const r = await fetch(`${running.app.origin}/portal/auth/login`, { redirect: 'manual' });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')?.startsWith(`${running.emulator.env.VMPRO_ISSUER}/`)).toBe(true);
  });

  it('sends a page request to the guarded route to the prefixed login route, keeping the path', async () => {
    const r = await fetch(`${running.app.origin}/portal/videos`, {
      redirect: 'manual',
      headers: { accept: 'text/html' },
    });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/portal/auth/login?returnTo=%2Fportal%2Fvideos');
  });
});
