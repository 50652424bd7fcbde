/**
 * One auth instance per configuration per process.
 *
 * Next.js, Vite SSR and test runners evaluate a module more than once (hot reload, one module
 * graph per route bundle, `vi.resetModules()`). A second `createVmproAuth(config)` must then not
 * build a second memory store, refresh single-flight and discovery cache: a session created by
 * one copy would be unknown to the other, and two copies would refresh the same refresh token
 * at once. So instances live on `globalThis` (shared by every copy of this package in the
 * process), keyed by a digest of the configuration's serialisable parts.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../logger.js';

/** The `globalThis` key of the registry: one `Map` for every copy of vmpro-connect in a process. */
export const REGISTRY_KEY: unique symbol = Symbol.for('vmpro-connect.auth-registry') as never;

/** A setting as the registry compares it: its value, or — for secrets — a one-way hash of it. */
interface Setting {
  readonly value: string;
  readonly secret: boolean;
}

/** The serialisable settings of one configuration, by option name. */
export type Fingerprint = ReadonlyMap<string, Setting>;

interface Entry {
  readonly instance: unknown;
  readonly fingerprint: Fingerprint;
  /** Where its session cookie lives: `host cookieName` (browsers share cookies across the ports of a host). */
  readonly cookieScope: string;
}

type Registry = Map<string, Entry>;

function registry(): Registry {
  const holder = globalThis as { [REGISTRY_KEY]?: Registry };
  holder[REGISTRY_KEY] ??= new Map();
  return holder[REGISTRY_KEY];
}

/** A hash of a secret that identifies it without revealing it (domain-separated SHA-256). */
export function secretDigest(value: string | readonly string[] | undefined): string {
  if (value === undefined) return 'none';
  const list = typeof value === 'string' ? [value] : value;
  return createHash('sha256')
    .update(`vmpro-connect registry\0${list.join('\0')}`)
    .digest('base64url')
    .slice(0, 22);
}

/** Builds a fingerprint: `plain` settings keep their values, `secrets` are hashed here. */
export function fingerprint(
  plain: Record<string, unknown>,
  secrets: Record<string, string | readonly string[] | undefined>,
): Fingerprint {
  const settings = new Map<string, Setting>();
  for (const [name, value] of Object.entries(plain)) {
    settings.set(name, { value: value === undefined ? 'default' : JSON.stringify(value), secret: false });
  }
  for (const [name, value] of Object.entries(secrets)) {
    settings.set(name, { value: secretDigest(value), secret: true });
  }
  return settings;
}

function digest(settings: Fingerprint): string {
  const sorted = [...settings].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify(sorted.map(([name, s]) => [name, s.value])))
    .digest('base64url');
}

/** Names (and, for settings that are not secret, both values) of what differs. */
function differences(a: Fingerprint, b: Fingerprint): string[] {
  const names = new Set([...a.keys(), ...b.keys()]);
  const out: string[] = [];
  for (const name of [...names].sort()) {
    const x = a.get(name);
    const y = b.get(name);
    if (x?.value === y?.value) continue;
    out.push(
      x?.secret || y?.secret ? `${name} (a different secret)` : `${name} (${x?.value} vs ${y?.value})`,
    );
  }
  return out;
}

/**
 * The instance registered for `settings`, or the one `create` makes (then registered). Warns
 * through `logger` when another configuration already uses the same session cookie on the same
 * host. `create` gets an `unregister` to call from the instance's `close()`.
 */
export function registered<T>(
  settings: Fingerprint,
  cookie: { host: string; name: string },
  logger: Logger,
  create: (unregister: () => void) => T,
): T {
  const map = registry();
  const key = digest(settings);
  const existing = map.get(key);
  if (existing !== undefined) {
    logger.debug(
      'vmpro-connect: createVmproAuth reused the instance made earlier in this process for the same configuration',
    );
    return existing.instance as T;
  }
  const cookieScope = `${cookie.host} ${cookie.name}`;
  const named = settings.get('instance')?.value !== 'default';
  for (const other of map.values()) {
    if (other.cookieScope !== cookieScope) continue;
    // Named instances share the cookie on purpose (two simulated servers of one app in a test,
    // sharing a store): the name is the acknowledgement.
    if (named && other.fingerprint.get('instance')?.value !== 'default') continue;
    const differing = differences(other.fingerprint, settings);
    if (differing.length === 1 && differing[0]?.startsWith('instance ')) continue;
    logger.warn(
      `vmpro-connect: a second auth configuration in this process uses the session cookie "${cookie.name}" on host ${cookie.host}, ` +
        `and differs from the first in: ${differing.join('; ')}. ` +
        'Browsers send that cookie to both (cookies are shared by all ports of a host), so each instance treats ' +
        "the other's sessions as unknown or unreadable and clears them: users are signed out at random. " +
        'Fix: give each configuration its own `session.cookieName`, or pass the same configuration so that one instance is shared.',
      { cookieName: cookie.name, host: cookie.host },
    );
    break;
  }
  let instance: T | undefined;
  const unregister = () => {
    const current = map.get(key);
    if (current !== undefined && current.instance === instance) map.delete(key);
  };
  instance = create(unregister);
  map.set(key, { instance, fingerprint: settings, cookieScope });
  return instance;
}
