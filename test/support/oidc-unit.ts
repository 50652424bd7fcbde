/**
 * Shared set-up for the protocol layer's unit tests: a fake login server (injected fetch), a
 * client pointed at it, a logger that records, and small assertion helpers.
 */

import { expect } from 'vitest';
import type { VmproError, VmproErrorCode } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { createOidcClient, type OidcClient, type OidcClientOptions } from '../../src/oidc/index.js';
import type { TokenSet } from '../../src/oidc/types.js';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  createFakeLoginServer,
  type FakeLoginServer,
  type FakeLoginServerOptions,
  REDIRECT_URI,
} from './fake-login-server.js';

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown> | undefined;
}

export function recordingLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const log = (level: LogEntry['level']) => (message: string, fields?: Record<string, unknown>) => {
    entries.push({ level, message, fields });
  };
  return { entries, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

export async function setup(
  options: {
    client?: Partial<OidcClientOptions>;
    server?: FakeLoginServerOptions;
    beforeClient?: (server: FakeLoginServer) => void;
  } = {},
) {
  const server = await createFakeLoginServer(options.server);
  options.beforeClient?.(server);
  const logger = recordingLogger();
  const client = await createOidcClient({
    apiBase: server.apiBase,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri: REDIRECT_URI,
    fetch: server.fetch,
    now: server.clock.now,
    logger,
    ...options.client,
  });
  return { server, client, logger };
}

/** The whole code flow against the fake: authorization URL, login page, callback, exchange. */
export async function signIn(server: FakeLoginServer, client: OidcClient): Promise<TokenSet> {
  const { url, transaction } = await client.createAuthorizationRequest();
  const validated = await client.validateCallback(server.authorize(url), transaction);
  return client.exchangeCode(validated);
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<VmproError> {
  try {
    await promise;
  } catch (err) {
    return err as VmproError;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** The error a function throws (fails the test when it returns). */
export function thrownBy(fn: () => unknown): VmproError {
  try {
    fn();
  } catch (err) {
    return err as VmproError;
  }
  throw new Error('expected the function to throw, but it returned');
}

export function expectCode(err: unknown, code: VmproErrorCode): void {
  expect((err as VmproError).code, String((err as Error).message)).toBe(code);
}

/** A fetch handler that never answers until the request is aborted. */
export function hang(request: Request): Promise<Response> {
  return new Promise((_resolve, reject) => {
    request.signal.addEventListener('abort', () => reject(request.signal.reason), { once: true });
  });
}
