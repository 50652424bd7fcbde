import { VmproError } from '../errors.js';
import { type Logger, silentLogger } from '../logger.js';

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
  apiBase?: string;
  /**
   * The bare issuer (e.g. `https://login.movingimage.com/auth/realms/platform`); skips WebFinger.
   * A full `…/.well-known/openid-configuration` URL is accepted too.
   */
  issuer?: string;
  clientId: string;
  clientSecret?: string;
  /** Default: `client_secret_post` when a secret is set (movingimage's documented way), else `none`. */
  clientAuthMethod?: ClientAuthMethod;
  /** The registered callback URL; required for the code flow. */
  redirectUri?: string;
  /** Scopes to request besides `openid`. */
  scopes?: string[];
  /** Used for every request: discovery, token, JWKS, revocation. Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Per request. Default 10 000. */
  timeoutMs?: number;
  /** Allowed clock difference for `exp`/`iat`/`nbf`. Default 30. */
  clockToleranceSec?: number;
  /** A login transaction older than this is refused at the callback. Default 600. */
  transactionMaxAgeSec?: number;
  /** Minimum seconds between two JWKS refetches caused by an unknown `kid`. Default 30. */
  jwksCooldownSec?: number;
  /** Back-channel logout tokens issued longer ago than this are refused. Default 300. */
  logoutTokenMaxAgeSec?: number;
  /** The clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  logger?: Logger;
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
}

export const DEFAULT_API_BASE = 'https://api.video-cdn.net';
export const WELL_KNOWN_OPENID_CONFIGURATION = '/.well-known/openid-configuration';

const AUTH_METHODS: readonly ClientAuthMethod[] = ['client_secret_post', 'client_secret_basic', 'none'];

function configError(field: string, problem: string, fix?: string): VmproError {
  return new VmproError(
    'VMPRO_CONFIG_INVALID',
    `Invalid OIDC client option "${field}": ${problem}.${fix ? ` ${fix}` : ''}`,
  );
}

/**
 * True for loopback host names: `localhost`, 127.0.0.0/8 and `::1` (as a URL's `hostname`,
 * i.e. `[::1]`).
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host === '[::1]' || host === '::1') return true;
  const parts = host.split('.');
  if (parts.length !== 4 || parts[0] !== '127') return false;
  return parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/**
 * True when `url` may be used: `https:`, or `http:` to a loopback host.
 */
export function isSecureOrLoopback(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}

function parseUrlField(field: string, value: unknown): URL {
  if (typeof value !== 'string' || value.trim() === '') {
    throw configError(field, 'must be a non-empty URL string');
  }
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw configError(field, `"${value}" is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw configError(field, `the scheme "${url.protocol}" is not allowed`, 'Use https://.');
  }
  if (!isSecureOrLoopback(url)) {
    throw configError(
      field,
      `plain http:// is only allowed for loopback hosts (127.0.0.0/8, ::1, localhost), not "${url.hostname}"`,
      'Use https://.',
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
    throw configError(
      'clientId',
      'must be a non-empty string',
      'Use the client id movingimage registered for you.',
    );
  }
  const clientId = o.clientId.trim();

  const apiBaseUrl = parseUrlField('apiBase', o.apiBase ?? DEFAULT_API_BASE);
  if ((apiBaseUrl.pathname !== '/' && apiBaseUrl.pathname !== '') || apiBaseUrl.search || apiBaseUrl.hash) {
    throw configError(
      'apiBase',
      `must be an origin such as ${DEFAULT_API_BASE}, without path, query or fragment (got "${o.apiBase}")`,
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
      `is required with clientAuthMethod "${clientAuthMethod}"`,
      'Set the client secret movingimage gave you, or use clientAuthMethod "none" for a public client.',
    );
  }
  if (clientAuthMethod === 'none' && clientSecret !== null) {
    throw configError(
      'clientAuthMethod',
      '"none" sends no secret, but clientSecret is set',
      'Remove clientSecret or choose client_secret_post / client_secret_basic.',
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
        throw configError('scopes', `"${String(scope)}" is not a valid scope token (no spaces or quotes)`);
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
  const logger = o.logger ?? silentLogger;
  if (typeof logger !== 'object' || logger === null || typeof logger.warn !== 'function') {
    throw configError('logger', 'must implement debug, info, warn and error');
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
    clockToleranceSec: positiveNumber('clockToleranceSec', o.clockToleranceSec, 30, true),
    transactionMaxAgeSec: positiveNumber('transactionMaxAgeSec', o.transactionMaxAgeSec, 600, false),
    jwksCooldownSec: positiveNumber('jwksCooldownSec', o.jwksCooldownSec, 30, true),
    logoutTokenMaxAgeSec: positiveNumber('logoutTokenMaxAgeSec', o.logoutTokenMaxAgeSec, 300, false),
    now: o.now ?? Date.now,
    logger,
  };
  return Object.freeze(parsed);
}
