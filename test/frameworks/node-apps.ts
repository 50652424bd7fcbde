/**
 * What the Express 4, Koa and NestJS framework tests share: build an app from
 * `test/frameworks/apps/<name>/` with its own `tsc`, start it with the emulator's environment, and
 * walk Chromium through sign-in, an access-token expiry and sign-out. The steps assert as they go
 * (vitest's `expect`); figures come back for the report.
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { expect } from 'vitest';
import {
  type AppProcess,
  type FrameworkEmulator,
  fillLoginForm,
  frameworkEmulator,
  freePort,
  prepareApp,
  run,
  startProcess,
} from './harness.js';

/** Access tokens live this long at the emulator… */
export const ACCESS_TOKEN_LIFETIME_SEC = 4;
/** …and the app refreshes them this long before they expire, so one is stale 3 s after it was issued. */
export const REFRESH_MARGIN_SEC = 1;

export interface RunningNodeApp {
  app: AppProcess;
  emulator: FrameworkEmulator;
  /** Whether `npm install` ran (a cold cache). */
  installed: boolean;
  /** Milliseconds for prepare (install or tarball swap) + build. */
  prepareMs: number;
  stop(): Promise<void>;
}

/** Prepares, builds (`tsc` of the app) and starts `apps/<name>`, with an emulator for its origin. */
export async function startNodeApp(
  name: string,
  options: { callbackPath?: string; readyPath: string; env?: Record<string, string> },
): Promise<RunningNodeApp> {
  const started = Date.now();
  const { dir, installed } = await prepareApp(name);
  await run(process.execPath, [join(dir, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
    cwd: dir,
    timeoutMs: 120_000,
  });
  const prepareMs = Date.now() - started;
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const emulator = await frameworkEmulator(origin, {
    accessTokenLifetime: ACCESS_TOKEN_LIFETIME_SEC,
    ...(options.callbackPath && { callbackPath: options.callbackPath }),
  });
  let app: AppProcess;
  try {
    app = await startProcess({
      cwd: dir,
      command: process.execPath,
      args: ['dist/main.js'],
      port,
      env: {
        ...emulator.env,
        ...options.env,
        PORT: String(port),
        VMPRO_REFRESH_MARGIN_SEC: String(REFRESH_MARGIN_SEC),
        NODE_ENV: 'production',
      },
      readyPath: options.readyPath,
      timeoutMs: 30_000,
    });
  } catch (error) {
    await emulator.close();
    throw error;
  }
  return {
    app,
    emulator,
    installed,
    prepareMs,
    async stop() {
      await app.stop();
      await emulator.close();
    },
  };
}

export interface FlowPaths {
  /** The protected HTML page with `#user-name`, `#vms` and a `#sign-out` button. */
  page: string;
  /** A protected JSON route (the VideoManager list). */
  api: string;
}

function refreshes(emulator: FrameworkEmulator): number {
  return emulator.emulator.counters().login.tokenRequests.refresh_token;
}

/**
 * Chromium: the protected page sends it to the emulator's form; after signing in it sees the user
 * and `Demo Marketing`; after its access token has gone stale a reload still works and the
 * emulator counted a refresh; signing out ends the session (the page sends it to the login form
 * again, the API answers 401).
 */
export async function browserFlow(
  browser: Browser,
  running: RunningNodeApp,
  paths: FlowPaths,
): Promise<{ refreshesBefore: number; refreshesAfter: number }> {
  const { origin } = running.app;
  const issuer = running.emulator.env.VMPRO_ISSUER ?? '';
  const context = await browser.newContext();
  const page = await context.newPage();

  await page.goto(origin + paths.page);
  expect(page.url().startsWith(issuer)).toBe(true);
  await fillLoginForm(page);
  await page.waitForSelector('#user-name', { timeout: 15_000 });
  expect(page.url()).toBe(origin + paths.page);
  expect(await page.textContent('#user-name')).toBe('Dana Demo');
  expect(await page.textContent('#vms')).toContain('Demo Marketing');

  const refreshesBefore = refreshes(running.emulator);
  // Let the access token go stale (issued at sign-in, stale LIFETIME - MARGIN seconds later).
  await new Promise((r) => setTimeout(r, (ACCESS_TOKEN_LIFETIME_SEC - REFRESH_MARGIN_SEC) * 1000 + 500));
  await page.reload();
  await page.waitForSelector('#vms', { timeout: 15_000 });
  expect(await page.textContent('#vms')).toContain('Demo Marketing');
  const refreshesAfter = refreshes(running.emulator);
  expect(refreshesAfter).toBeGreaterThan(refreshesBefore);

  await page.click('#sign-out');
  await page.waitForURL((url) => url.href.startsWith(origin), { timeout: 15_000 });
  await page.goto(origin + paths.page);
  // The login server's session ended too, so this is its form again, not a silent sign-in.
  await page.waitForSelector('#kc-login', { timeout: 15_000 });
  expect(page.url().startsWith(issuer)).toBe(true);
  const api = await fetch(origin + paths.api, {
    headers: {
      accept: 'application/json',
      cookie: (await context.cookies(origin)).map((c) => `${c.name}=${c.value}`).join('; '),
    },
  });
  expect(api.status).toBe(401);
  await context.close();
  return { refreshesBefore, refreshesAfter };
}
