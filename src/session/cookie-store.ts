/**
 * The encrypted cookie store: the whole session record lives in the browser, sealed with
 * `sealJson` (purpose `session`) and split into cookies of at most `maxChunkSize` bytes.
 */
import { VmproError } from '../errors.js';
import { assertLogoutList, type LogoutList } from './logout-list.js';
import type { CookieAttributes, CookieJar, CookieStoreMarker } from './types.js';

const MARKER = Symbol.for('vmpro-connect.cookieStore');
const MIN_CHUNK_SIZE = 512;
/** More chunks than this are not ours (and would exceed every server's header limit). */
const MAX_CHUNKS = 20;

/** Options of `cookieStore`. */
export interface CookieStoreOptions {
  /** Bytes per cookie, name and `=` included; default 3800 (browsers allow 4096). */
  maxChunkSize?: number;
  /**
   * Where logouts (in the app, and back-channel) are remembered: `memoryLogoutList()` (the
   * default: the instance that received the logout only) or `redisLogoutList({ client })` (every
   * instance).
   */
  logouts?: LogoutList;
}

/**
 * Keep the whole session in the browser, encrypted (AES-256-GCM with a key derived from the
 * first secret; older secrets still decrypt, and the cookie is re-sealed with the first on the
 * next write). Keycloak's tokens make the record 6–9 KB, so expect 2–3 cookies per request —
 * mind your server's and proxy's header limits (Node: 16 KB total).
 *
 * No server state means no cross-process lock: refreshes are single-flight within one process
 * only. A logout cannot delete a cookie (or a copy of it); it is remembered in a list of ended
 * sessions (and, for back-channel logouts, `sid`s/`sub`s) that every cookie is checked against —
 * by default by the instance that received it only; with `logouts: redisLogoutList({ client })`
 * by every instance (within its `pollMs`).
 * For several instances `redisStore` is the better fit.
 *
 * @example
 * ```ts
 * const sessions = createSessionManager({ store: cookieStore(), secrets, secure: true, refresh })
 * ```
 */
export function cookieStore(options: CookieStoreOptions = {}): CookieStoreMarker {
  const maxChunkSize = options.maxChunkSize ?? 3800;
  if (!Number.isInteger(maxChunkSize) || maxChunkSize < MIN_CHUNK_SIZE || maxChunkSize > 4096) {
    throw new VmproError(
      'VMPRO_CONFIG_INVALID',
      `\`maxChunkSize\` must be an integer between ${MIN_CHUNK_SIZE} and 4096 bytes (got ${String(maxChunkSize)}).`,
    );
  }
  const logouts = assertLogoutList(options.logouts);
  const marker = { kind: 'cookie' as const, maxChunkSize, ...(logouts ? { logouts } : {}) };
  Object.defineProperty(marker, MARKER, { value: true });
  return Object.freeze(marker);
}

/** True for the value of `cookieStore()` (also across two installed copies). */
export function isCookieStoreMarker(value: unknown): value is CookieStoreMarker {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
}

const CHUNK_SUFFIX = /^\.(0|[1-9][0-9]*)$/;

/** The names of `name`'s chunk cookies among `names`. */
function chunkNames(names: Iterable<string>, name: string): string[] {
  const found: string[] = [];
  for (const candidate of names) {
    if (candidate.startsWith(name) && CHUNK_SUFFIX.test(candidate.slice(name.length))) found.push(candidate);
  }
  return found;
}

/**
 * Names this module set on a jar during the current response, so that a second write in the
 * same response also removes chunks the first one added.
 */
const written = new WeakMap<CookieJar, Set<string>>();

function knownNames(jar: CookieJar): Set<string> {
  const names = new Set(jar.names());
  for (const name of written.get(jar) ?? []) names.add(name);
  return names;
}

function set(jar: CookieJar, name: string, value: string, attributes: CookieAttributes): void {
  jar.set(name, value, attributes);
  let names = written.get(jar);
  if (names === undefined) {
    names = new Set();
    written.set(jar, names);
  }
  names.add(name);
}

function remove(jar: CookieJar, name: string, attributes: CookieAttributes): void {
  jar.delete(name, attributes);
  written.get(jar)?.delete(name);
}

/**
 * Reads a (possibly chunked) cookie value: `name` itself, else `name.0`, `name.1`… in order.
 * `undefined` when there is none. A missing chunk yields a truncated value, which fails to
 * decrypt — that is how tampering shows.
 */
export function readChunkedCookie(jar: CookieJar, name: string): string | undefined {
  const single = jar.get(name);
  if (single !== undefined) return single;
  const parts: string[] = [];
  for (let index = 0; index < MAX_CHUNKS; index++) {
    const part = jar.get(`${name}.${index}`);
    if (part === undefined) break;
    parts.push(part);
  }
  return parts.length === 0 ? undefined : parts.join('');
}

/** True when the request carried `name` or any of its chunks. */
export function hasChunkedCookie(jar: CookieJar, name: string): boolean {
  const names = knownNames(jar);
  return names.has(name) || chunkNames(names, name).length > 0;
}

/**
 * Writes `value` as one cookie when `name=value` fits in `maxChunkSize`, else as chunks
 * `name.0…name.n`; deletes whatever the earlier value left behind (the single cookie or
 * surplus chunks).
 */
export function writeChunkedCookie(
  jar: CookieJar,
  name: string,
  value: string,
  attributes: CookieAttributes,
  maxChunkSize: number,
): void {
  const existing = knownNames(jar);
  if (name.length + 1 + value.length <= maxChunkSize) {
    set(jar, name, value, attributes);
    for (const chunk of chunkNames(existing, name)) remove(jar, chunk, attributes);
    return;
  }
  // Room for the longest chunk name this value could need (`name.NN=`).
  const room = maxChunkSize - (name.length + 4);
  const count = Math.ceil(value.length / room);
  if (count > MAX_CHUNKS) {
    throw new VmproError(
      'VMPRO_CONFIG_INVALID',
      `The session is too large for cookies (${value.length} bytes sealed). Use a server-side store (memory or Redis).`,
    );
  }
  const keep = new Set<string>();
  for (let index = 0; index < count; index++) {
    const chunk = `${name}.${index}`;
    keep.add(chunk);
    set(jar, chunk, value.slice(index * room, (index + 1) * room), attributes);
  }
  if (existing.has(name)) remove(jar, name, attributes);
  for (const chunk of chunkNames(existing, name)) if (!keep.has(chunk)) remove(jar, chunk, attributes);
}

/** Deletes `name` and every chunk of it the request carried (or this response set). */
export function clearChunkedCookie(jar: CookieJar, name: string, attributes: CookieAttributes): void {
  const names = knownNames(jar);
  if (names.has(name)) remove(jar, name, attributes);
  for (const chunk of chunkNames(names, name)) remove(jar, chunk, attributes);
}
