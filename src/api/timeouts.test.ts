/**
 * The per-attempt deadline over real sockets: a bare `node:http` server on 127.0.0.1 that can
 * withhold its headers, trickle its body, or reset the connection.
 */
import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createVmproApiClient, type VmproApiClientOptions } from './client.js';
import { failure } from './failure.test-helper.js';
import { fixedToken } from './fixed-token.js';

const TOKEN = 'test-token';

let server: Server;
let base: string;
const sockets = new Set<Socket>();
let requests = 0;

/**
 * `/silent`: headers never come. `/trickle?every=ms&bytes=n`: a JSON list sent one byte every
 * `every` ms (`bytes` in all, or without end). `/reset`: headers, part of the body, then a
 * reset. Anything else: a JSON list at once.
 */
function handle(request: IncomingMessage, response: ServerResponse): void {
  requests += 1;
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (url.pathname === '/silent') return;
  if (url.pathname === '/reset') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write('[{"id":1,');
    setTimeout(() => request.socket.destroy(), 50);
    return;
  }
  if (url.pathname === '/trickle') {
    const every = Number(url.searchParams.get('every'));
    const bytes = Number(url.searchParams.get('bytes') ?? Number.POSITIVE_INFINITY);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write('[');
    let sent = 1;
    // Whitespace is valid JSON: the body is `[`, spaces, `]`.
    const timer = setInterval(() => {
      sent += 1;
      if (sent >= bytes) {
        clearInterval(timer);
        response.end(']');
      } else {
        response.write(' ');
      }
    }, every);
    response.on('close', () => clearInterval(timer));
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end('[{"id":1,"name":"Main"}]');
}

beforeAll(async () => {
  server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Node creates its global dispatcher on the first fetch of the process.
  await (await fetch(`${base}/v1/vms`)).text();
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

function client(options: Partial<VmproApiClientOptions> = {}) {
  return createVmproApiClient({ baseUrl: base, tokenSource: fixedToken(TOKEN), retry: 0, ...options });
}

async function timed<T>(promise: Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await promise;
  return { result, ms: performance.now() - started };
}

describe('the deadline of an attempt', () => {
  it('times out an answer whose headers never come, as VMPRO_UPSTREAM_TIMEOUT, after about timeoutMs', async () => {
    const { result: error, ms } = await timed(failure(client({ timeoutMs: 500 }).request('GET', '/silent')));
    expect(error.code).toBe('VMPRO_UPSTREAM_TIMEOUT');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('within 500 ms');
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(1_500);
  });

  // 2 000 ms is where the client used to hand the timeout to undici's bodyTimeout, which only
  // limits the pause between two parts of the body: a byte every 300 ms held a call forever.
  it.each([1_000, 2_000])(
    'times out a body that trickles in one byte every 300 ms (timeoutMs %i)',
    async (timeoutMs) => {
      const api = client({ timeoutMs });
      const { result: error, ms } = await timed(
        failure(api.request('GET', '/trickle', { query: 'every=300' })),
      );
      expect(error.code).toBe('VMPRO_UPSTREAM_TIMEOUT');
      expect(error.message).toContain(`within ${timeoutMs} ms`);
      expect(ms).toBeGreaterThanOrEqual(timeoutMs - 50);
      expect(ms).toBeLessThan(timeoutMs + 1_000);
    },
    10_000,
  );

  it('succeeds when the whole body arrives within timeoutMs', async () => {
    const api = client({ timeoutMs: 1_000 });
    const { result, ms } = await timed(api.request('GET', '/trickle', { query: 'every=50&bytes=10' }));
    expect(result).toEqual([]);
    expect(ms).toBeGreaterThan(400);
  });

  it('applies per call: a call’s timeoutMs overrides the client’s', async () => {
    const api = client({ timeoutMs: 30_000 });
    const error = await failure(api.request('GET', '/silent', { timeoutMs: 300 }));
    expect(error.code).toBe('VMPRO_UPSTREAM_TIMEOUT');
    expect(error.message).toContain('within 300 ms');
  });

  it('is the same with hooks installed, and the hooks’ signal aborts with it', async () => {
    const signals: AbortSignal[] = [];
    const api = client({
      timeoutMs: 600,
      hooks: { beforeRequest: [(_request, context) => void signals.push(context.signal)] },
    });
    const { result: error, ms } = await timed(
      failure(api.request('GET', '/trickle', { query: 'every=100' })),
    );
    expect(error.code).toBe('VMPRO_UPSTREAM_TIMEOUT');
    expect(ms).toBeLessThan(1_600);
    expect(signals).toHaveLength(1);
    expect(signals[0]?.aborted).toBe(true);
  });

  it('starts again for each retry', async () => {
    const before = requests;
    const api = client({ timeoutMs: 300, retry: 2, sleep: async () => {} });
    const error = await failure(api.request('GET', '/reset'));
    expect(error.code).toBe('VMPRO_UPSTREAM_UNAVAILABLE');
    expect(requests - before).toBe(3);
  });
});

describe('aborts and resets', () => {
  it('stops waiting for headers when the caller aborts, as VMPRO_ABORTED', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const { result: error, ms } = await timed(
      failure(client().request('GET', '/silent', { signal: controller.signal })),
    );
    expect(error.code).toBe('VMPRO_ABORTED');
    expect(ms).toBeLessThan(1_000);
  });

  it('stops reading a trickling body when the caller aborts, as VMPRO_ABORTED', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const { result: error, ms } = await timed(
      failure(client().request('GET', '/trickle', { query: 'every=50', signal: controller.signal })),
    );
    expect(error.code).toBe('VMPRO_ABORTED');
    expect(ms).toBeLessThan(1_000);
  });

  it('leaves no listener on the caller’s signal after the call', async () => {
    const controller = new AbortController();
    const api = client();
    for (let i = 0; i < 3; i++) await api.vms.list({ signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('reports a connection reset in the body as VMPRO_UPSTREAM_UNAVAILABLE', async () => {
    const error = await failure(client().request('GET', '/reset'));
    expect(error.code).toBe('VMPRO_UPSTREAM_UNAVAILABLE');
    expect(error.retryable).toBe(true);
  });
});

describe('the application’s global dispatcher', () => {
  // The slot undici's setGlobalDispatcher() writes and Node's fetch reads on every request.
  const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
  type Dispatcher = { dispatch(options: Record<string, unknown>, handler: unknown): boolean };
  const slots = globalThis as unknown as Record<symbol, Dispatcher | undefined>;

  /** A dispatcher that records each request and hands it on, as an application's proxy would. */
  function install(): { seen: string[]; restore(): void } {
    const original = slots[GLOBAL_DISPATCHER];
    if (original === undefined) throw new Error('Node has not created its global dispatcher');
    const seen: string[] = [];
    slots[GLOBAL_DISPATCHER] = {
      dispatch(options, handler) {
        seen.push(String(options['path']));
        return original.dispatch(options, handler);
      },
    };
    return {
      seen,
      restore: () => {
        slots[GLOBAL_DISPATCHER] = original;
      },
    };
  }

  it('carries every call, and the deadline still applies', async () => {
    const spy = install();
    try {
      const api = client({ timeoutMs: 400 });
      expect(await api.vms.list()).toEqual([{ id: 1, name: 'Main' }]);
      const error = await failure(api.request('GET', '/silent'));
      expect(error.code).toBe('VMPRO_UPSTREAM_TIMEOUT');
      expect(spy.seen).toEqual(['/v1/vms', '/silent']);
    } finally {
      spy.restore();
    }
  });
});

describe('timers', () => {
  /** The timers started with `delayMs` while `work` runs, and which of them were cleared. */
  async function watchTimers(delayMs: number, work: (started: NodeJS.Timeout[]) => Promise<unknown>) {
    const started: NodeJS.Timeout[] = [];
    const cleared = new Set<unknown>();
    const realSet = globalThis.setTimeout as unknown as (...args: unknown[]) => NodeJS.Timeout;
    const realClear = globalThis.clearTimeout;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((
      fn: () => void,
      ms?: number,
      ...args: unknown[]
    ) => {
      const handle = realSet(fn, ms, ...args);
      if (ms === delayMs) started.push(handle);
      return handle;
    }) as typeof setTimeout);
    vi.spyOn(globalThis, 'clearTimeout').mockImplementation(((
      handle?: Parameters<typeof clearTimeout>[0],
    ) => {
      cleared.add(handle);
      realClear(handle);
    }) as typeof clearTimeout);
    const active = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = active();
    try {
      await work(started);
    } finally {
      vi.restoreAllMocks();
    }
    return { started, cleared, addedActive: active() - before };
  }

  it('clears the deadline once the answer has been read, and keeps no timer running', async () => {
    const api = client({ timeoutMs: 43_210 });
    const { started, cleared, addedActive } = await watchTimers(43_210, async () => {
      await api.vms.list();
      await api.request('GET', '/trickle', { query: 'every=20&bytes=5' });
      await failure(api.request('GET', '/reset'));
    });
    expect(started.length).toBeGreaterThanOrEqual(3);
    for (const timer of started) expect(cleared.has(timer)).toBe(true);
    expect(addedActive).toBeLessThanOrEqual(0);
  });

  it('does not keep the process alive while a call waits', async () => {
    const api = client({ timeoutMs: 43_211 });
    const controller = new AbortController();
    const refs: boolean[] = [];
    await watchTimers(43_211, async (started) => {
      const pending = failure(api.request('GET', '/silent', { signal: controller.signal }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (const timer of started) refs.push(timer.hasRef());
      controller.abort();
      await pending;
    });
    expect(refs).toEqual([false]);
  });
});
