import { configError } from '../errors.js';
import { DEFAULT_API_BASE, isLoopbackHost } from '../internal/url.js';
import type { FieldsFirstLogger, Logger } from '../logger.js';
import type { OidcClient } from '../oidc/index.js';
import type { SessionBackendSource, SessionStore } from '../session/index.js';
import type { VmproEvent } from './events.js';
import type { AfterLoginHook } from './hooks.js';
import type { ErrorPage } from './responses.js';

/** Options of {@link createVmproAuth}. Only `clientId`, `redirectUri` and `session.secrets` are required. */
export interface VmproAuthOptions {
  /** Client id registered with movingimage. */
  clientId: string;
  /** Client secret registered with movingimage. */
  clientSecret?: string | undefined;
  /** How the client authenticates at the token endpoint; default: secret in the body (movingimage's documented way). */
  clientAuthMethod?: 'client_secret_post' | 'client_secret_basic' | 'none' | undefined;
  /** API origin; discovery starts here (WebFinger). Default `https://api.video-cdn.net`. */
  apiBase?: string | undefined;
  /** Issuer; skips WebFinger when set. */
  issuer?: string | undefined;
  /** The registered callback URL. Never built from `Host` or `X-Forwarded-*`. Its origin is the app's origin. */
  redirectUri: string;
  /** Where the login server sends the user after logout. Default: the app's origin + `/`. */
  postLogoutRedirectUri?: string | undefined;
  /** Scopes besides `openid`. */
  scopes?: string[] | undefined;
  session: {
    /** At least 32 characters each; the first encrypts, all decrypt (rotation). A comma-separated string is split. */
    secrets: string[] | string;
    /** Default: an in-memory store. */
    store?: SessionStore | SessionBackendSource | undefined;
    idleTimeoutSec?: number | undefined;
    absoluteTimeoutSec?: number | undefined;
    refreshMarginSec?: number | undefined;
    /**
     * Name of the session cookie (the login transaction cookies are named after it). Default
     * `__Host-vmpro` on https, `vmpro` on plain-http loopback. Give each app its own when several
     * share one host: browsers send a host's cookies to all of its apps and ports.
     */
    cookieName?: string | undefined;
  };
  /**
   * Opt-in to a second instance with the same configuration in one process. `createVmproAuth`
   * returns one shared instance per configuration (so a module evaluated twice — Next.js, Vite
   * SSR, test runners — still has one session store, refresh single-flight and discovery
   * cache); a different `instance` name makes a separate one. For tests that simulate two
   * servers in one process, and multi-tenant apps.
   */
  instance?: string | undefined;
  /** Paths of the auth routes. The callback path defaults to the redirect URI's path. */
  routes?: { login?: string; callback?: string; logout?: string; backchannelLogout?: string } | undefined;
  /** Seconds a login may take from the redirect to the callback. Default 600. */
  transactionMaxAgeSec?: number | undefined;
  /**
   * Seconds the login server's clock may differ from this machine's when ID and logout tokens
   * are checked. Default 60 (see `DEFAULT_CLOCK_TOLERANCE_SEC`); `vmpro doctor` measures the skew.
   */
  clockToleranceSec?: number | undefined;
  /** Per request to the login server. Default 10 000 ms. */
  timeoutMs?: number | undefined;
  fetch?: typeof fetch | undefined;
  /**
   * Default: errors only, on standard error. Pass pino, winston, bunyan or `console` as they are
   * (fields-first loggers such as pino are detected and called in their order), or
   * `silentLogger` for none.
   */
  logger?: Logger | FieldsFirstLogger | undefined;
  now?: () => number;
  /** A ready protocol client (tests, or to share one between apps). Discovery is skipped. */
  oidcClient?: OidcClient | undefined;
  /**
   * Receives `login`, `logout`, `refresh`, `refresh_failed` and `session_ended` events for
   * metrics and audit (never a token). Called after the request's work and never awaited: a
   * listener that throws, rejects or is slow does not affect requests (its errors are logged).
   */
  onEvent?: ((event: VmproEvent) => void | Promise<void>) | undefined;
  /** Runs after each sign-in, before the session exists: add data to the session, or refuse with `loginRefused()`. */
  afterLogin?: AfterLoginHook | undefined;
  /** Renders the HTML error pages (failed sign-ins, `403`s) in your design; default: vmpro-connect's plain page. */
  errorPage?: ErrorPage | undefined;
}

/** The validated, defaulted, frozen form of {@link VmproAuthOptions}. */
export interface ResolvedAuthOptions {
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly clientAuthMethod: 'client_secret_post' | 'client_secret_basic' | 'none';
  readonly apiBase: string;
  readonly issuer: string | undefined;
  readonly redirectUri: string;
  readonly appOrigin: string;
  readonly postLogoutRedirectUri: string;
  readonly scopes: readonly string[];
  readonly secrets: readonly string[];
  /** Secure cookies (`__Host-` prefix): true unless the app runs on plain-http loopback. */
  readonly secure: boolean;
  readonly routes: Readonly<{ login: string; callback: string; logout: string; backchannelLogout: string }>;
  readonly transactionMaxAgeSec: number;
}

function fail(field: string, problem: string, fix?: string): never {
  throw configError(field, problem, fix);
}

/** Parses `value` as an absolute http(s) URL; `http:` only on loopback hosts. */
export function checkUrl(field: string, value: unknown): URL {
  if (typeof value !== 'string' || value.length === 0) fail(field, 'is required and must be a URL');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(field, `is not an absolute URL (got ${JSON.stringify(value)})`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  if (url.protocol === 'http:') {
    fail(
      field,
      `must use https:// (plain http:// is accepted only for loopback hosts: 127.0.0.0/8, ::1, localhost; got host ${url.hostname})`,
    );
  }
  return fail(field, `must be an http(s) URL (got ${url.protocol})`, 'use https://');
}

function checkPath(field: string, value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//')) {
    fail(field, 'must be a path starting with a single "/"');
  }
  return value;
}

/** Splits a comma-separated secret list (env form) and checks every entry. */
export function parseSecrets(value: unknown, field = 'session.secrets'): string[] {
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
  if (!Array.isArray(list) || list.length === 0)
    fail(field, 'needs at least one secret of 32 or more characters');
  list.forEach((secret, i) => {
    if (typeof secret !== 'string' || secret.length < 32) {
      fail(
        field,
        `entry ${i + 1} is shorter than 32 characters`,
        'generate one with `openssl rand -base64 32`',
      );
    }
  });
  return list as string[];
}

/** Validates options, applies defaults, checks cross-field rules, and freezes the result. */
export function resolveAuthOptions(options: VmproAuthOptions): ResolvedAuthOptions {
  if (typeof options !== 'object' || options === null) fail('options', 'must be an object');
  if (typeof options.clientId !== 'string' || options.clientId.length === 0)
    fail('clientId', 'is required', 'pass the client id movingimage registered for your app');
  const redirect = checkUrl('redirectUri', options.redirectUri);
  const apiBase = checkUrl('apiBase', options.apiBase ?? DEFAULT_API_BASE);
  const issuer = options.issuer === undefined ? undefined : checkUrl('issuer', options.issuer);
  const postLogout = checkUrl(
    'postLogoutRedirectUri',
    options.postLogoutRedirectUri ?? `${redirect.origin}/`,
  );
  const method = options.clientAuthMethod ?? (options.clientSecret ? 'client_secret_post' : 'none');
  if (!['client_secret_post', 'client_secret_basic', 'none'].includes(method)) {
    fail('clientAuthMethod', 'must be client_secret_post, client_secret_basic or none');
  }
  if (method !== 'none' && !options.clientSecret)
    fail(
      'clientSecret',
      `is required with clientAuthMethod ${method}`,
      'set the client secret movingimage gave you, or use clientAuthMethod "none" for a public client',
    );
  if (redirect.protocol === 'https:' && issuer?.protocol === 'http:') {
    fail(
      'issuer',
      'is plain http:// while the app runs on https://, so tokens would travel unprotected',
      'use the https:// URL of the login server',
    );
  }
  if (redirect.hash) fail('redirectUri', 'must not contain a #fragment');
  if (options.session === undefined) fail('session', 'is required (at least `session.secrets`)');
  for (const hook of ['onEvent', 'afterLogin', 'errorPage'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') fail(hook, 'must be a function');
  }
  if (options.instance !== undefined && (typeof options.instance !== 'string' || options.instance === '')) {
    fail(
      'instance',
      'must be a non-empty name',
      'name each deliberate second instance, e.g. instance: "tenant-b"',
    );
  }
  const secrets = parseSecrets(options.session.secrets);
  const maxAge = options.transactionMaxAgeSec ?? 600;
  if (!(Number.isFinite(maxAge) && maxAge > 0))
    fail('transactionMaxAgeSec', 'must be a positive number of seconds');
  const routes = {
    login: checkPath('routes.login', options.routes?.login ?? '/auth/login'),
    callback: checkPath('routes.callback', options.routes?.callback ?? redirect.pathname),
    logout: checkPath('routes.logout', options.routes?.logout ?? '/auth/logout'),
    backchannelLogout: checkPath(
      'routes.backchannelLogout',
      options.routes?.backchannelLogout ?? '/auth/backchannel-logout',
    ),
  };
  if (routes.callback !== redirect.pathname) {
    fail('routes.callback', `(${routes.callback}) must be the path of redirectUri (${redirect.pathname})`);
  }
  return Object.freeze({
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    clientAuthMethod: method,
    apiBase: apiBase.origin,
    issuer: issuer?.href.replace(/\/$/, ''),
    redirectUri: redirect.href,
    appOrigin: redirect.origin,
    postLogoutRedirectUri: postLogout.href,
    scopes: Object.freeze([...(options.scopes ?? [])]),
    secrets: Object.freeze(secrets),
    secure: redirect.protocol === 'https:',
    routes: Object.freeze(routes),
    transactionMaxAgeSec: maxAge,
  });
}
