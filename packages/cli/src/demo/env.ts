/**
 * The demo's configuration from the environment (the README's table): every value checked, and
 * every error naming its variable. The checks mirror the library's (`createVmproAuth` checks the
 * same values again, and stays the authority); they are repeated here so that a message names
 * `VMPRO_API_BASE`, not the option `apiBase` it becomes.
 */
import { randomBytes } from 'node:crypto';
import { VmproError } from 'vmpro-connect';
import { isLoopbackHost } from '../url.js';

/** One seed node of a Redis Cluster, from `redis-cluster://host:port,…`. */
export interface ClusterNodeAddress {
  host: string;
  port: number;
}

/**
 * The session store `VMPRO_SESSION_STORE` asks for. `url` (Redis, PostgreSQL) and `password`
 * (cluster) may hold credentials: never print them; print {@link describeStore} instead.
 *
 * @example
 * ```ts
 * const store: StoreChoice = { kind: 'redis-cluster', nodes: [{ host: '127.0.0.1', port: 7000 }] };
 * ```
 */
export type StoreChoice =
  | { kind: 'memory' }
  | { kind: 'cookie' }
  | { kind: 'redis'; url: string }
  | {
      kind: 'redis-cluster';
      nodes: ClusterNodeAddress[];
      username: string | undefined;
      password: string | undefined;
    }
  | { kind: 'postgres'; url: string };

/** Every form `VMPRO_SESSION_STORE` accepts, for its error messages. */
export const SESSION_STORE_FORMS =
  'memory, cookie, a redis:// or rediss:// URL (one Redis), redis-cluster://host:port[,host:port…] (the seed nodes of a Redis Cluster), or a postgres:// or postgresql:// URL (PostgreSQL)';

/** What {@link authOptionsFromEnv} read from the environment. */
export interface AuthEnvResult {
  port: number;
  /** `undefined` when `VMPRO_CLIENT_ID` is unset (the demo then starts the embedded emulator). */
  clientId: string | undefined;
  clientSecret: string | undefined;
  apiBase: string | undefined;
  issuer: string | undefined;
  redirectUri: string;
  postLogoutRedirectUri: string | undefined;
  secrets: string[];
  /** True when no `VMPRO_SESSION_SECRET` was set and a random one was made for this start. */
  generatedSecret: boolean;
  store: StoreChoice;
  /** Human-readable warnings to print at start-up. */
  warnings: string[];
}

/** A `VMPRO_CONFIG_INVALID` error with `field` = the variable, in the library's message style. */
function envFail(variable: string, problem: string, fix?: string): never {
  throw new VmproError('VMPRO_CONFIG_INVALID', `vmpro: \`${variable}\` ${problem}${fix ? `: ${fix}` : ''}.`, {
    field: variable,
  });
}

/** An absolute `https://` URL, or `http://` to a loopback host. */
function checkUrl(variable: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return envFail(variable, `is not an absolute URL (got ${JSON.stringify(value)})`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  if (url.protocol === 'http:') {
    envFail(
      variable,
      `must use https:// (plain http:// is accepted only for loopback hosts: 127.0.0.0/8, ::1, localhost; got host ${url.hostname})`,
    );
  }
  return envFail(variable, `must be an http(s) URL (got ${url.protocol})`, 'use https://');
}

/**
 * Splits a comma-separated secret list (the first encrypts, the others still decrypt) and checks
 * that every entry has 32 or more characters.
 */
export function parseSecrets(value: string, variable = 'VMPRO_SESSION_SECRET'): string[] {
  const list = value.split(',').map((s) => s.trim());
  list.forEach((secret, i) => {
    if (secret.length < 32) {
      envFail(
        variable,
        `entry ${i + 1} is shorter than 32 characters`,
        'generate one with `openssl rand -base64 32`',
      );
    }
  });
  return list;
}

/**
 * Reads the demo's environment variables (see the README's table), validates them, and names the
 * variable in every error. Security opt-outs are never read from the environment.
 */
export function authOptionsFromEnv(env: Record<string, string | undefined> = process.env): AuthEnvResult {
  const warnings: string[] = [];
  const portText = env.PORT?.trim() || '3000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    envFail('PORT', `must be a port number (got ${JSON.stringify(portText)})`);

  // checkUrl and parseSecrets are given the variable as their field: their errors name it
  // (`error.field`) and read like every other configuration error, with nothing to rewrite.
  const url = (variable: string) => {
    const v = env[variable]?.trim();
    return v ? checkUrl(variable, v).href : undefined;
  };

  const apiBase = url('VMPRO_API_BASE');
  const issuer = url('VMPRO_ISSUER');
  const redirectUri = url('VMPRO_REDIRECT_URI') ?? `http://localhost:${port}/auth/callback`;
  const postLogoutRedirectUri = url('VMPRO_POST_LOGOUT_REDIRECT_URI');
  const clientId = env.VMPRO_CLIENT_ID?.trim() || undefined;
  const clientSecret = env.VMPRO_CLIENT_SECRET?.trim() || undefined;
  if (clientSecret && !clientId)
    envFail(
      'VMPRO_CLIENT_SECRET',
      'is set but VMPRO_CLIENT_ID is not',
      'set both, or neither to use the emulator',
    );

  let secrets: string[];
  let generatedSecret = false;
  const secretText = env.VMPRO_SESSION_SECRET?.trim();
  if (secretText) {
    secrets = parseSecrets(secretText, 'VMPRO_SESSION_SECRET');
  } else {
    secrets = [randomBytes(32).toString('base64url')];
    generatedSecret = true;
    warnings.push(
      'VMPRO_SESSION_SECRET is not set: using a random secret for this start, so sessions end when the server restarts and several instances cannot share them. Set it to 32+ random characters (openssl rand -base64 32).',
    );
  }

  const store = parseSessionStore(env.VMPRO_SESSION_STORE?.trim() || 'memory');
  if (store.kind !== 'memory' && store.kind !== 'cookie' && generatedSecret) {
    warnings.push(
      `VMPRO_SESSION_STORE is ${describeStore(store)} but VMPRO_SESSION_SECRET is random: other instances cannot read this one's sessions, and this one cannot read them after a restart.`,
    );
  }
  return {
    port,
    clientId,
    clientSecret,
    apiBase,
    issuer,
    redirectUri,
    postLogoutRedirectUri,
    secrets,
    generatedSecret,
    store,
    warnings,
  };
}

const STORE = 'VMPRO_SESSION_STORE';

/** The value as the user wrote it, for an error message — with any password replaced by `***`. */
function shown(value: string): string {
  return JSON.stringify(value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@]*?:)[^/@]*@/i, '$1***@'));
}

/** `host:port` (IPv6 in brackets) of one cluster seed node. */
function parseNode(text: string, value: string): ClusterNodeAddress {
  const match = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)):(\d{1,5})$/i.exec(text);
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) {
    envFail(
      STORE,
      `has a cluster node that is not host:port (${JSON.stringify(text)} in ${shown(value)})`,
      'write redis-cluster://host:port[,host:port…], e.g. redis-cluster://10.0.0.1:7000,10.0.0.2:7000',
    );
  }
  return { host: (match[1] ?? match[2])!, port };
}

/**
 * Reads `VMPRO_SESSION_STORE`: `memory`, `cookie`, `redis://` / `rediss://` (one Redis),
 * `redis-cluster://[user:password@]host:port[,host:port…]` (a Redis Cluster's seed nodes) or
 * `postgres://` / `postgresql://` (PostgreSQL). Anything else is a `VMPRO_CONFIG_INVALID` error
 * that names the variable and lists every accepted form.
 *
 * @example
 * ```ts
 * parseSessionStore('redis-cluster://10.0.0.1:7000,10.0.0.2:7000');
 * // { kind: 'redis-cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7000 }], … }
 * ```
 */
export function parseSessionStore(value: string): StoreChoice {
  if (value === 'memory') return { kind: 'memory' };
  if (value === 'cookie') return { kind: 'cookie' };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') return { kind: 'redis', url: value };
  if (scheme === 'postgres' || scheme === 'postgresql') {
    try {
      new URL(value);
    } catch {
      envFail(
        STORE,
        `is not a valid PostgreSQL URL (got ${shown(value)})`,
        'write postgres://user:password@host:5432/database',
      );
    }
    return { kind: 'postgres', url: value };
  }
  if (scheme === 'redis-cluster') {
    let rest = value.slice('redis-cluster://'.length).replace(/\/$/, '');
    let username: string | undefined;
    let password: string | undefined;
    const at = rest.lastIndexOf('@');
    if (at !== -1) {
      const credentials = rest.slice(0, at);
      rest = rest.slice(at + 1);
      const colon = credentials.indexOf(':');
      const user = decodeURIComponent(colon === -1 ? credentials : credentials.slice(0, colon));
      username = user || undefined;
      password = colon === -1 ? undefined : decodeURIComponent(credentials.slice(colon + 1)) || undefined;
    }
    if (rest === '') {
      envFail(
        STORE,
        `names no cluster node (got ${shown(value)})`,
        'write redis-cluster://host:port[,host:port…], e.g. redis-cluster://10.0.0.1:7000,10.0.0.2:7000',
      );
    }
    const nodes = rest.split(',').map((node) => parseNode(node.trim(), value));
    return { kind: 'redis-cluster', nodes, username, password };
  }
  return envFail(STORE, `must be ${SESSION_STORE_FORMS} (got ${shown(value)})`);
}

/**
 * The store in words, for the banner and warnings, without credentials: `memory`, `cookie`,
 * `Redis at host:port`, `Redis Cluster (seed nodes a:1, b:2)`, `PostgreSQL at host:port/db`.
 *
 * @example
 * ```ts
 * describeStore({ kind: 'postgres', url: 'postgres://app:secret@db:5432/app' }); // 'PostgreSQL at db:5432/app'
 * ```
 */
export function describeStore(store: StoreChoice): string {
  const where = (url: string, fallbackPort: string) => {
    try {
      const u = new URL(url);
      return `${u.hostname || 'localhost'}:${u.port || fallbackPort}${u.pathname.length > 1 ? u.pathname : ''}`;
    } catch {
      return '(unparsed URL)';
    }
  };
  switch (store.kind) {
    case 'memory':
    case 'cookie':
      return store.kind;
    case 'redis':
      return `Redis at ${where(store.url, '6379')}`;
    case 'redis-cluster':
      return `Redis Cluster (seed nodes ${store.nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(', ')})`;
    case 'postgres':
      return `PostgreSQL at ${where(store.url, '5432')}`;
  }
}
