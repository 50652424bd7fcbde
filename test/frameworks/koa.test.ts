/**
 * Real Koa apps (`apps/koa` on Koa 3 with @types/koa 3, `apps/koa2` — the same source — on Koa 2
 * with @types/koa 2), each on the packed library and compiled by its own tsc, started as a
 * process; Chromium signs in through the emulator's form, sees the user and the VideoManagers,
 * survives an access-token expiry and signs out.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, fillLoginForm, hasChromium, launchChromium, root } from './harness.js';
import { browserFlow, type RunningNodeApp, startNodeApp } from './node-apps.js';

it('runs the same app source on Koa 2 as on Koa 3', () => {
  const manifest = (name: string) =>
    JSON.parse(readFileSync(join(root, 'test/frameworks/apps', name, 'package.json'), 'utf8')) as {
      vmproTestApp?: { sourcesFrom?: string };
    };
  expect(manifest('koa2').vmproTestApp?.sourcesFrom).toBe('koa');
  expect(existsSync(join(root, 'test/frameworks/apps/koa2/src'))).toBe(false);
});

describe.skipIf(!hasChromium).each(['koa', 'koa2'])(
  `the %s app in Chromium (needs Chromium at ${CHROMIUM})`,
  (name) => {
    let running: RunningNodeApp;
    let browser: Browser;

    beforeAll(async () => {
      const started = Date.now();
      running = await startNodeApp(name, { readyPath: '/healthz' });
      browser = await launchChromium();
      console.log(
        `${name}: ${running.installed ? 'cold (npm install)' : 'warm'} prepare+build ${running.prepareMs} ms, ready ${Date.now() - started} ms`,
      );
    }, 600_000);

    afterAll(async () => {
      await browser?.close();
      await running?.stop();
    });

    it('signs in, survives an access-token expiry, and signs out', async () => {
      const { refreshesBefore, refreshesAfter } = await browserFlow(browser, running, {
        page: '/videos',
        api: '/api/vms',
      });
      console.log(`${name}: refresh_token grants ${refreshesBefore} → ${refreshesAfter}`);
    }, 60_000);

    it("shows the API's own 404 for a video that does not exist as a 404 page, not a 500", async () => {
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
  },
);
