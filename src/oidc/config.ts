import { configError } from '../errors.js';
import { DEFAULT_API_BASE, isSecureOrLoopback } from '../internal/url.js';
import { asLogger, type Logger } from '../logger.js';
import { createDiscoveryCache, type DiscoveryCache, isDiscoveryCache } from './discovery-cache.js';

/** How the client authenticates at the token and revocation endpoints. */
export type ClientAuthMethod = 'client_secret_post' | 'client_secret_basic' | 'none';

/**
 * Options of {@link createOidcClient}. Only `clientId` is required; `redirectUri` is needed for
 * the authorization code flow.
 *
 * @example
 * ```ts
 * const options: OidcClientOptions = {
 *   clientId: 'my-portal',
 *   clientSecret: process.env.VMPRO_CLIENT_SECRET,
 *   redirectUri: 'https://portal.example.com/auth/callback',
 * };
 * ```
 */
export interface OidcClientOptions {
  /** API origin; discovery starts here via WebFinger. Default `https://api.video-cdn.net`. */
  apiBase?: string | undefined;
  /**
   * The bare issuer (e.g. `https://login.movingimage.com/auth/realms/platform`); skips WebFinger.
   * A full `…/.well-known/openid-configuration` URL is accepted too.
   */
  issuer?: string | undefined;
  clientId: string;
  clientSecret?: string | undefined;
  /** Default: `client_secret_post` when a secret is set (movingimage's documented way), else `none`. */
  clientAuthMethod?: ClientAuthMethod | undefined;
  /** The registered callback URL; required for the code flow. */
  redirectUri?: string | undefined;
  /** Scopes to request besides `openid`. */
  scopes?: string[] | undefined;
  /** Used for every request: discovery, token, JWKS, revocation. Default: the global `fetch`. */
  fetch?: typeof fetch | undefined;
  /** Per request. Default 10 000. */
  timeoutMs?: number | undefined;
  /**
   * Seconds the login server's clock may differ from this machine's when checking `exp`, `iat`
   * and `nbf` of ID tokens (at sign-in and refresh) and of back-channel logout tokens.
   * Default {@link DEFAULT_CLOCK_TOLERANCE_SEC} (60, as Spring Security): real servers drift,
   * and a larger difference means a clock to fix (`vmpro doctor` measures it).
   */
  clockToleranceSec?: number | undefined;
  /** A login transaction older than this is refused at the callback. Default 600. */
  transactionMaxAgeSec?: number | undefined;
  /** Minimum seconds between two JWKS refetches caused by an unknown `kid`. Default 30. */
  jwksCooldownSec?: number | undefined;
  /** Back-channel logout tokens issued longer ago than this are refused. Default 300. */
  logoutTokenMaxAgeSec?: number | undefined;
  /** The clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  logger?: Logger | undefined;
  /**
   * Where discovery answers are kept for their `Cache-Control: max-age`. Default: a cache of this
   * client's own; pass one from {@link createDiscoveryCache} to share it between clients.
   */
  discoveryCache?: DiscoveryCache | undefined;
}

/** {@link OidcClientOptions} after validation, with every default applied. Frozen. */
export interface ParsedOptions {
  /** Origin without a trailing slash. */
  apiBase: string;
  /** The expected issuer when configured (WebFinger is skipped), else `null`. */
  issuer: string | null;
  /** The OpenID configuration URL when `issuer` was given as one, else `null`. */
  issuerConfigurationUrl: string | null;
  clientId: string;
  clientSecret: string | null;
  clientAuthMethod: ClientAuthMethod;
  redirectUri: string | null;
  /** Extra scopes, without `openid`, without duplicates. */
  scopes: readonly string[];
  fetch: typeof fetch;
  timeoutMs: number;
  clockToleranceSec: number;
  transactionMaxAgeSec: number;
  jwksCooldownSec: number;
  logoutTokenMaxAgeSec: number;
  now: () => number;
  logger: Logger;
  /** The given cache, or a new one for this client. */
  discoveryCache: DiscoveryCache;
}

/**
 * The default {@link OidcClientOptions.clockToleranceSec}: 60 s of clock difference between this
 * machine and the login server are tolerated, as Spring Security does; 5 minutes are not.
 *
 * @example
 * ```ts
 * createOidcClient({ clientId, clientSecret, clockToleranceSec: DEFAULT_CLOCK_TOLERANCE_SEC });
 * ```
 */
export const DEFAULT_CLOCK_TOLERANCE_SEC = 60;
export const WELL_KNOWN_OPENID_CONFIGURATION = '/.well-known/openid-configuration';

const AUTH_METHODS: readonly ClientAuthMethod[] = ['client_secret_post', 'client_secret_basic', 'none'];

function parseUrlField(field: string, value: unknown): URL {
  if (typeof value !== 'string' || value.trim() === '') {
    throw configError(field, 'is required and must be a URL');
  }
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw configError(field, `is not an absolute URL (got ${JSON.stringify(value)})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw configError(field, `must be an http(s) URL (got ${url.protocol})`, 'use https://');
  }
  if (!isSecureOrLoopback(url)) {
    throw configError(
      field,
      `must use https:// (plain http:// is accepted only for loopback hosts: 127.0.0.0/8, ::1, localhost; got host ${url.hostname})`,
    );
  }
  if (url.username || url.password) {
    throw configError(field, 'must not contain credentials');
  }
  return url;
}

function positiveNumber(field: string, value: unknown, fallback: number, allowZero: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw configError(field, `must be a ${allowZero ? 'non-negative' : 'positive'} finite number`);
  }
  return value;
}

/**
 * Validates {@link OidcClientOptions}, applies defaults and returns a frozen copy. Every problem
 * is a `VmproError` with code `VMPRO_CONFIG_INVALID` whose message names the field. The caller's
 * object is never modified.
 *
 * Rules: `http://` only for loopback hosts (127.0.0.0/8, `::1`, `localhost`), else `https://`
 * (`issuer`, `apiBase`, `redirectUri`); `clientSecret` is required for `client_secret_post` and
 * `client_secret_basic` and refused with `none`.
 *
 * @example
 * ```ts
 * const parsed = parseOidcClientOptions({ clientId: 'anonymous' });
 * parsed.clientAuthMethod; // 'none'
 * ```
 */
export function parseOidcClientOptions(o: OidcClientOptions): Readonly<ParsedOptions> {
  if (typeof o !== 'object' || o === null) {
    throw configError('options', 'must be an object');
  }

  if (typeof o.clientId !== 'string' || o.clientId.trim() === '') {
    throw configError('clientId', 'is required', 'pass the client id movingimage registered for your app');
  }
  const clientId = o.clientId.trim();

  const apiBaseUrl = parseUrlField('apiBase', o.apiBase ?? DEFAULT_API_BASE);
  if ((apiBaseUrl.pathname !== '/' && apiBaseUrl.pathname !== '') || apiBaseUrl.search || apiBaseUrl.hash) {
    throw configError(
      'apiBase',
      `must be an origin such as ${DEFAULT_API_BASE}, without path, query or fragment (got ${JSON.stringify(o.apiBase)})`,
    );
  }
  const apiBase = apiBaseUrl.origin;

  let issuer: string | null = null;
  let issuerConfigurationUrl: string | null = null;
  if (o.issuer !== undefined) {
    const url = parseUrlField('issuer', o.issuer);
    if (url.search || url.hash) {
      throw configError('issuer', 'must not contain a query or fragment');
    }
    const text = url.href;
    if (url.pathname.endsWith(WELL_KNOWN_OPENID_CONFIGURATION)) {
      issuerConfigurationUrl = text;
      issuer = text.slice(0, -WELL_KNOWN_OPENID_CONFIGURATION.length);
    } else {
      // Keep the configured spelling: the issuer is compared exactly (OIDC Discovery §4.3).
      issuer = (o.issuer as string).trim();
    }
  }

  if (o.clientSecret !== undefined && (typeof o.clientSecret !== 'string' || o.clientSecret === '')) {
    throw configError('clientSecret', 'must be a non-empty string when set');
  }
  const clientSecret = o.clientSecret ?? null;

  let clientAuthMethod: ClientAuthMethod;
  if (o.clientAuthMethod === undefined) {
    clientAuthMethod = clientSecret === null ? 'none' : 'client_secret_post';
  } else if (AUTH_METHODS.includes(o.clientAuthMethod)) {
    clientAuthMethod = o.clientAuthMethod;
  } else {
    throw configError('clientAuthMethod', `must be one of ${AUTH_METHODS.join(', ')}`);
  }
  if (clientAuthMethod !== 'none' && clientSecret === null) {
    throw configError(
      'clientSecret',
      `is required with clientAuthMethod ${clientAuthMethod}`,
      'set the client secret movingimage gave you, or use clientAuthMethod "none" for a public client',
    );
  }
  if (clientAuthMethod === 'none' && clientSecret !== null) {
    throw configError(
      'clientAuthMethod',
      'is "none", which sends no secret, but clientSecret is set',
      'remove clientSecret or choose client_secret_post / client_secret_basic',
    );
  }

  let redirectUri: string | null = null;
  if (o.redirectUri !== undefined) {
    const url = parseUrlField('redirectUri', o.redirectUri);
    if (url.hash) throw configError('redirectUri', 'must not contain a fragment');
    redirectUri = url.href;
  }

  const scopes: string[] = [];
  if (o.scopes !== undefined) {
    if (!Array.isArray(o.scopes)) throw configError('scopes', 'must be an array of strings');
    for (const scope of o.scopes) {
      if (typeof scope !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope)) {
        throw configError(
          'scopes',
          `contains ${JSON.stringify(String(scope))}, which is not a valid scope token (no spaces or quotes)`,
        );
      }
      if (scope !== 'openid' && !scopes.includes(scope)) scopes.push(scope);
    }
  }

  if (o.fetch !== undefined && typeof o.fetch !== 'function') {
    throw configError('fetch', 'must be a function');
  }
  if (o.now !== undefined && typeof o.now !== 'function') {
    throw configError('now', 'must be a function returning epoch milliseconds');
  }
  const logger = asLogger(o.logger);
  if (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function') {
    throw configError('logger', 'must implement debug, info, warn and error');
  }
  if (o.discoveryCache !== undefined && !isDiscoveryCache(o.discoveryCache)) {
    throw configError('discoveryCache', 'must be a cache from createDiscoveryCache()');
  }

  const parsed: ParsedOptions = {
    apiBase,
    issuer,
    issuerConfigurationUrl,
    clientId,
    clientSecret,
    clientAuthMethod,
    redirectUri,
    scopes: Object.freeze(scopes),
    fetch: o.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    timeoutMs: positiveNumber('timeoutMs', o.timeoutMs, 10_000, false),
    clockToleranceSec: positiveNumber(
      'clockToleranceSec',
      o.clockToleranceSec,
      DEFAULT_CLOCK_TOLERANCE_SEC,
      true,
    ),
    transactionMaxAgeSec: positiveNumber('transactionMaxAgeSec', o.transactionMaxAgeSec, 600, false),
    jwksCooldownSec: positiveNumber('jwksCooldownSec', o.jwksCooldownSec, 30, true),
    logoutTokenMaxAgeSec: positiveNumber('logoutTokenMaxAgeSec', o.logoutTokenMaxAgeSec, 300, false),
    now: o.now ?? Date.now,
    logger,
    discoveryCache: o.discoveryCache ?? createDiscoveryCache(),
  };
  return Object.freeze(parsed);
}
