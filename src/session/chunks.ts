/**
 * Cookies that may be split into chunks (`name.0`, `name.1`…): the encrypted cookie backend's
 * record, and the server backend's id cookie (which clears leftover chunks).
 */
import { VmproError } from '../errors.js';
import type { CookieAttributes, CookieJar } from './types.js';

/** More chunks than this are not ours (and would exceed every server's header limit). */
const MAX_CHUNKS = 20;

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
