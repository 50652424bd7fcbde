/**
 * Timeouts through Node's own fetch (undici's headersTimeout / bodyTimeout) instead of a signal
 * per request, over real sockets: against the emulator, and against a bare HTTP server that sends
 * headers and then stalls its body.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { anonymousToken } from '../../test/support/tokens.js';
import { type RunningEmulator, startEmulator } from '../emulator/index.js';
import { createVmproApiClient } from './client.js';
import { failure } from './failure.test-helper.js';
import { fixedToken } from './fixed-token.js';
import { isUndiciTimeout, MIN_UNDICI_TIMEOUT_MS, UndiciTimeouts } from './undici-timeouts.js';

const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
type Dispatcher = { dispatch(options: Record<string, unknown>, handler: unknown): boolean };
const slots = globalThis as unknown as Record<symbol, Dispatcher | undefined>;

let emulator: RunningEmulator;
let token: string;

beforeAll(async () => {
  emulator = await startEmulator();
  token = await anonymousToken(emulator.issuer); // also makes Node create its global dispatcher
});

afterEach(() => {
  emulator.api.clearFaults();
});

afterAll(async () => {
  await emulator?.close();
});

/** Puts a recording wrapper around the global dispatcher, as an application's proxy set-up would. */
function spyOnGlobalDispatcher(): { seen: Array<Record<string, unknown>>; restore(): void } {
  const original = slots[GLOBAL_DISPATCHER]!;
  const seen: Array<Record<string, unknown>> = [];
  const spy: Dispatcher = {
    dispatch(options, handler) {
      seen.push(options);
      return original.dispatch(options, handler);
    },
  };
  slots[GLOBAL_DISPATCHER] = spy;
  const restore = () => {
    slots[GLOBAL_DISPATCHER] = original;
  };
  return { seen, restore };
}

describe('timeouts through undici', () => {
  it('is used for the global fetch on Node, not for a custom fetch', () => {
    expect(UndiciTimeouts.forFetch(undefined)).toBeInstanceOf(UndiciTimeouts);
    expect(UndiciTimeouts.forFetch(globalThis.fetch)).toBeInstanceOf(UndiciTimeouts);
    expect(UndiciTimeouts.forFetch(((input, init) => fetch(input, init)) as typeof fetch)).toBeUndefined();
    const timeouts = UndiciTimeouts.forFetch(undefined)!;
    expect(timeouts.dispatcher(MIN_UNDICI_TIMEOUT_MS - 1)).toBeUndefined(); // too short: a signal
    expect(timeouts.dispatcher(30_000)).toBe(timeouts.dispatcher(30_000));
  });

  it('sends calls through the application’s global dispatcher, with the client’s timeout', async () => {
    const spy = spyOnGlobalDispatcher();
    try {
      const api = createVmproApiClient({ baseUrl: emulator.apiBase, tokenSource: fixedToken(token) });
      expect((await api.vms.list()).length).toBeGreaterThan(0);
      expect(spy.seen).toHaveLength(1);
      expect(spy.seen[0]).toMatchObject({ headersTimeout: 30_000, bodyTimeout: 30_000 });
    } finally {
      spy.restore();
    }
  });

  it('times out an answer whose headers do not come, as VMPRO_UPSTREAM_TIMEOUT', async () => {
    const api = createVmproApiClient({
      baseUrl: emulator.apiBase,
      tokenSource: fixedToken(token),
      timeoutMs: 2_000,
      retry: 0,
    });
    emulator.api.addFault({ path: '/v1/vms', kind: 'delay', delayMs: 8_000, times: 1 });
    const started = Date.now();
    const error = await failure(api.vms.list());
    expect(error.code).toBe('VMPRO_UPSTREAM_TIMEOUT');
    expect(error.message).toContain('within 2000 ms');
    expect(isUndiciTimeout(error.cause)).toBe(true); // undici's timer, not a signal
    expect(Date.now() - started).toBeLessThan(4_500); // undici checks its timers about once a second
  }, 10_000);

  it('aborts with the caller’s signal while waiting for headers', async () => {
    const api = createVmproApiClient({ baseUrl: emulator.apiBase, tokenSource: fixedToken(token), retry: 0 });
    emulator.api.addFault({ path: '/v1/vms', kind: 'delay', delayMs: 8_000, times: 1 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = await failure(api.vms.list({ signal: controller.signal }));
    expect(error.code).toBe('VMPRO_ABORTED');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  describe('a body that stalls after the headers', () => {
    let server: Server;
    const open: ServerResponse[] = [];
    let base: string;

    beforeAll(async () => {
      server = createServer((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('[{"id":1,'); // and nothing more
        open.push(response);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      for (const response of open) response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('times out as VMPRO_UPSTREAM_TIMEOUT', async () => {
      const api = createVmproApiClient({
        baseUrl: base,
        tokenSource: fixedToken(token),
        timeoutMs: 2_000,
        retry: 0,
      });
      const started = Date.now();
      const error = await failure(api.vms.list());
      expect(error.code).toBe('VMPRO_UPSTREAM_TIMEOUT');
      expect(Date.now() - started).toBeLessThan(4_500);
    }, 10_000);
  });
});
