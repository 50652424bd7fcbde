/**
 * Fault injection for the emulated API: a list of `ApiFault`s, matched by method and path
 * pattern in the order they were added, each used up after `times` matches.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiFault } from './contract.js';
import { EmulatorConnectionReset } from './errors.js';
import { json } from './http.js';

const KINDS: readonly ApiFault['kind'][] = ['invalid_token', 'status', 'html', 'delay', 'reset'];
const MAX_DELAY_MS = 10 * 60_000;

/**
 * Checks a fault from a test or the control endpoint and returns a clean copy; throws a
 * `TypeError` naming the bad field.
 */
export function parseFault(input: unknown): ApiFault {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TypeError(
      'A fault must be an object like {"path": "/v1/vms", "kind": "status", "status": 503}.',
    );
  }
  const value = input as Record<string, unknown>;
  const known = ['method', 'path', 'kind', 'status', 'retryAfter', 'delayMs', 'times'];
  const unknown = Object.keys(value).filter((key) => !known.includes(key));
  if (unknown.length > 0) throw new TypeError(`Unknown fault field(s): ${unknown.join(', ')}.`);
  const { method, path, kind, status, retryAfter, delayMs, times } = value;
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new TypeError('fault.path must be a path starting with "/", e.g. "/v1/vms/*/videos".');
  }
  if (typeof kind !== 'string' || !KINDS.includes(kind as ApiFault['kind'])) {
    throw new TypeError(`fault.kind must be one of ${KINDS.join(', ')}.`);
  }
  const fault: ApiFault = { path, kind: kind as ApiFault['kind'] };
  if (method !== undefined) {
    if (typeof method !== 'string' || !/^[A-Za-z]+$/.test(method)) {
      throw new TypeError('fault.method must be an HTTP method such as "GET".');
    }
    fault.method = method.toUpperCase();
  }
  if (status !== undefined) {
    if (!isInteger(status) || status < 200 || status > 599) {
      throw new TypeError('fault.status must be a whole number from 200 to 599.');
    }
    fault.status = status;
  }
  if (retryAfter !== undefined) {
    if (!isInteger(retryAfter) || retryAfter < 0)
      throw new TypeError('fault.retryAfter must be whole seconds ≥ 0.');
    fault.retryAfter = retryAfter;
  }
  if (delayMs !== undefined) {
    if (!isInteger(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) {
      throw new TypeError(`fault.delayMs must be whole milliseconds from 0 to ${MAX_DELAY_MS}.`);
    }
    fault.delayMs = delayMs;
  }
  if (kind === 'delay' && fault.delayMs === undefined) throw new TypeError('A "delay" fault needs delayMs.');
  if (times !== undefined) {
    if (!isInteger(times) || times < 1) throw new TypeError('fault.times must be a whole number ≥ 1.');
    fault.times = times;
  }
  return fault;
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/**
 * Whether `pathname` fits `pattern`: `*` is exactly one segment, `**` any number of segments
 * (none included); a trailing slash on either side is ignored.
 */
export function pathMatches(pattern: string, pathname: string): boolean {
  const split = (path: string) =>
    path.split('/').filter((part, index, all) => index > 0 && !(part === '' && index === all.length - 1));
  const wanted = split(pattern);
  const actual = split(pathname);
  const walk = (p: number, a: number): boolean => {
    if (p === wanted.length) return a === actual.length;
    const part = wanted[p]!;
    if (part === '**') {
      for (let skip = a; skip <= actual.length; skip++) if (walk(p + 1, skip)) return true;
      return false;
    }
    if (a === actual.length) return false;
    return (part === '*' || part === actual[a]) && walk(p + 1, a + 1);
  };
  return walk(0, 0);
}

interface ActiveFault {
  fault: ApiFault;
  remaining: number;
}

/** The faults of one API instance. */
export class FaultList {
  #active: ActiveFault[] = [];

  add(fault: ApiFault): ApiFault {
    const clean = parseFault(fault);
    this.#active.push({ fault: clean, remaining: clean.times ?? Number.POSITIVE_INFINITY });
    return clean;
  }

  clear(): void {
    this.#active = [];
  }

  list(): ApiFault[] {
    return this.#active.map(({ fault, remaining }) =>
      Number.isFinite(remaining) ? { ...fault, times: remaining } : { ...fault },
    );
  }

  /** The first fault for this request, used up by one; `undefined` when none applies. */
  take(method: string, pathname: string): ApiFault | undefined {
    const index = this.#active.findIndex(
      ({ fault }) =>
        (fault.method === undefined || fault.method === method) && pathMatches(fault.path, pathname),
    );
    if (index < 0) return undefined;
    const entry = this.#active[index]!;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.#active.splice(index, 1);
    return entry.fault;
  }
}

/**
 * Acts out a fault: returns the answer to send, `null` to carry on normally (after a delay), or
 * throws `EmulatorConnectionReset`. A delay ends early, rejecting with an `AbortError`, when the
 * request is aborted.
 */
export async function applyFault(fault: ApiFault, signal: AbortSignal): Promise<Response | null> {
  switch (fault.kind) {
    case 'invalid_token':
      return json(
        401,
        { message: 'The access token is not valid (any more). Get a new one and try again.' },
        {
          'www-authenticate':
            'Bearer realm="platform", error="invalid_token", error_description="The access token is invalid or has expired"',
        },
      );
    case 'status': {
      const status = fault.status ?? 503;
      const headers: Record<string, string> = {};
      if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
      return json(status, { message: `The service answered ${status} (an emulator fault).` }, headers);
    }
    case 'html': {
      const status = fault.status ?? 500;
      const page = `<!DOCTYPE html>\n<html><head><title>Error</title></head><body><h1>Error ${status}</h1><p>Something went wrong.</p></body></html>\n`;
      const headers: Record<string, string> = { 'content-type': 'text/html;charset=utf-8' };
      if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
      return new Response(page, { status, headers });
    }
    case 'delay':
      await sleep(fault.delayMs ?? 0, undefined, { signal });
      return null;
    case 'reset':
      throw new EmulatorConnectionReset();
  }
}
