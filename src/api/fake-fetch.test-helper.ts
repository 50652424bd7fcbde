/**
 * Test helper (not shipped API): a fetch that answers from a script, in order, and records
 * every request it got.
 */

export interface RecordedCall {
  method: string;
  url: URL;
  headers: Headers;
  /** The body as text (`undefined` when there was none). */
  body: string | undefined;
  bytes: Uint8Array | undefined;
  redirect: RequestRedirect;
  signal: AbortSignal;
}

export type Answer = Response | Error | ((call: RecordedCall) => Response | Promise<Response>);

export interface ScriptedFetch {
  fetch: typeof fetch;
  calls: RecordedCall[];
  /** Answers not used yet. */
  remaining(): number;
}

export function scriptFetch(...answers: Answer[]): ScriptedFetch {
  const queue = [...answers];
  const calls: RecordedCall[] = [];
  const fetchImpl = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const buffer = request.body === null ? undefined : new Uint8Array(await request.arrayBuffer());
    const call: RecordedCall = {
      method: request.method,
      url: new URL(request.url),
      headers: new Headers(request.headers),
      body: buffer === undefined ? undefined : new TextDecoder().decode(buffer),
      bytes: buffer,
      redirect: request.redirect,
      signal: init?.signal ?? request.signal,
    };
    calls.push(call);
    const answer = queue.shift();
    if (answer === undefined) throw new Error(`unexpected request ${call.method} ${call.url.href}`);
    if (answer instanceof Error) throw answer;
    if (typeof answer === 'function') return answer(call);
    return answer;
  };
  return { fetch: fetchImpl as typeof fetch, calls, remaining: () => queue.length };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

export function empty(status: number, headers: Record<string, string> = {}): Response {
  return new Response(null, { status, headers });
}

/** A fetch failure the way undici reports a refused connection. */
export function networkError(): TypeError {
  return new TypeError('fetch failed', {
    cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
  });
}

/** A fetch that never answers but rejects when its signal aborts. */
export function hangingFetch(): typeof fetch {
  return ((input: RequestInfo | URL, init?: RequestInit) =>
    new Promise<Response>((_resolve, reject) => {
      const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    })) as typeof fetch;
}

/** A token source that counts its calls and returns `token-1`, `token-2`… per refresh. */
export function countingTokenSource(): {
  getAccessToken(options?: { forceRefresh?: boolean; signal?: AbortSignal }): Promise<string>;
  calls: { forceRefresh: boolean }[];
  forced(): number;
} {
  let generation = 1;
  const calls: { forceRefresh: boolean }[] = [];
  return {
    calls,
    forced: () => calls.filter((c) => c.forceRefresh).length,
    async getAccessToken(options) {
      calls.push({ forceRefresh: options?.forceRefresh === true });
      if (options?.forceRefresh) generation += 1;
      return `token-${generation}`;
    },
  };
}

/** A sleep that returns at once and records how long it was asked to wait. */
export function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    sleep: async (ms: number) => {
      waits.push(ms);
    },
  };
}
