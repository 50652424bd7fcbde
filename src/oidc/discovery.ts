import { VmproError } from '../errors.js';
import type { Logger } from '../logger.js';
import { isSecureOrLoopback, parseOidcClientOptions, WELL_KNOWN_OPENID_CONFIGURATION } from './config.js';
import { Call, transportFailure } from './transport.js';

/** The link relation of the issuer in a WebFinger answer (OpenID Connect Discovery §2). */
export const ISSUER_LINK_REL = 'http://openid.net/specs/connect/1.0/issuer';

const MAX_BODY_CHARS = 1_000_000;
const MAX_CACHE_SEC = 86_400;

/** The OpenID configuration of the login server (the fields this package reads, plus the rest). */
export interface OidcMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  end_session_endpoint?: string;
  revocation_endpoint?: string;
  userinfo_endpoint?: string;
  introspection_endpoint?: string;
  code_challenge_methods_supported?: string[];
  id_token_signing_alg_values_supported?: string[];
  authorization_response_iss_parameter_supported?: boolean;
  grant_types_supported?: string[];
  [field: string]: unknown;
}

export interface DiscoveryOptions {
  /** API origin; WebFinger runs here. Default `https://api.video-cdn.net`. */
  apiBase?: string;
  /** The bare issuer (or its configuration URL): skips WebFinger. */
  issuer?: string;
  fetch?: typeof fetch;
  /** Per request, default 10 000. */
  timeoutMs?: number;
  /** Clock for the cache, epoch ms. */
  now?: () => number;
  logger?: Logger;
  signal?: AbortSignal;
}

export interface DiscoveryResult {
  /** The issuer, equal to the configured or WebFinger-derived one. */
  issuer: string;
  /** The OpenID configuration document, deeply frozen. */
  metadata: Readonly<OidcMetadata>;
  /** `webfinger` when the issuer came from the API host, `configured` when it was given. */
  source: 'webfinger' | 'configured';
  /** Where the OpenID configuration was read. */
  configurationUrl: string;
}

interface CacheEntry {
  expiresAt: number;
  body: Record<string, unknown>;
}

const cache = new Map<string, CacheEntry>();

/**
 * Forgets every cached WebFinger and OpenID configuration answer (for tests, or to pick up a
 * changed login server at once).
 */
export function clearDiscoveryCache(): void {
  cache.clear();
}

function failed(message: string, options: { cause?: unknown; retryable?: boolean } = {}): VmproError {
  return new VmproError('VMPRO_DISCOVERY_FAILED', message, options);
}

function maxAgeOf(response: Response): number {
  const header = response.headers.get('cache-control');
  if (!header) return 0;
  const directives = header
    .toLowerCase()
    .split(',')
    .map((d) => d.trim());
  if (directives.some((d) => d === 'no-store' || d === 'no-cache')) return 0;
  for (const d of directives) {
    const m = /^max-age\s*=\s*"?(\d+)"?$/.exec(d);
    if (m?.[1]) return Math.min(Number.parseInt(m[1], 10), MAX_CACHE_SEC);
  }
  return 0;
}

async function getJson(
  call: Call,
  url: string,
  accept: string,
  what: string,
  now: () => number,
  logger: Logger,
): Promise<Record<string, unknown>> {
  const cached = cache.get(url);
  if (cached && cached.expiresAt > now()) {
    logger.debug('discovery: cache hit', { url });
    return cached.body;
  }
  let response: Response;
  try {
    response = await call.fetch(url, { method: 'GET', headers: { accept } });
  } catch (err) {
    throw (
      transportFailure(call, err, `Discovery (${what})`, {
        code: 'VMPRO_DISCOVERY_FAILED',
        hint: 'Check the network and the apiBase/issuer setting; this may succeed later.',
      }) ?? failed(`Discovery (${what}) failed at ${url}.`, { cause: err })
    );
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    const location = response.headers.get('location');
    throw failed(
      `Discovery (${what}) failed: ${url} answered with a redirect (${response.status}${location ? ` to ${location}` : ''}). Redirects are not followed; configure the final URL.`,
    );
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    const transient = response.status >= 500 || response.status === 429 || response.status === 408;
    const fix =
      response.status === 404
        ? ' Check the apiBase / issuer setting: this URL does not exist.'
        : transient
          ? ' The server has a problem; this may succeed later.'
          : '';
    throw failed(`Discovery (${what}) failed: ${url} answered HTTP ${response.status}.${fix}`, {
      retryable: transient,
    });
  }
  let text: string;
  try {
    text = await response.text();
  } catch (err) {
    throw (
      transportFailure(call, err, `Discovery (${what})`, { code: 'VMPRO_DISCOVERY_FAILED' }) ??
      failed(`Discovery (${what}) failed: the answer from ${url} could not be read.`, {
        cause: err,
        retryable: true,
      })
    );
  }
  if (text.length > MAX_BODY_CHARS) {
    throw failed(
      `Discovery (${what}) failed: the answer from ${url} is larger than ${MAX_BODY_CHARS} characters.`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw failed(
      `Discovery (${what}) failed: the answer from ${url} is not JSON (content-type ${response.headers.get('content-type') ?? 'none'}). Check that the URL points to the login server / API host.`,
      { cause: err },
    );
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw failed(`Discovery (${what}) failed: the answer from ${url} is not a JSON object.`);
  }
  const maxAge = maxAgeOf(response);
  if (maxAge > 0) {
    cache.set(url, { expiresAt: now() + maxAge * 1000, body: body as Record<string, unknown> });
  }
  logger.debug('discovery: fetched', { url, cacheSeconds: maxAge });
  return body as Record<string, unknown>;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function parseHttpUrl(value: string): URL | null {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
  } catch {
    return null;
  }
}

/** Splits an issuer link into the configuration URL and the expected issuer. */
function fromIssuerHref(href: string): { configurationUrl: string; issuer: string } {
  const url = parseHttpUrl(href);
  if (!url) throw failed(`Discovery (WebFinger) failed: the issuer link "${href}" is not an http(s) URL.`);
  if (!isSecureOrLoopback(url)) {
    throw failed(
      `Discovery (WebFinger) failed: the issuer link "${href}" uses plain http:// to a non-loopback host; https:// is required.`,
    );
  }
  if (url.pathname.endsWith(WELL_KNOWN_OPENID_CONFIGURATION) && !url.search && !url.hash) {
    // movingimage's form: the link is the full configuration URL.
    return { configurationUrl: href, issuer: href.slice(0, -WELL_KNOWN_OPENID_CONFIGURATION.length) };
  }
  return { configurationUrl: configurationUrlOf(href), issuer: href };
}

function configurationUrlOf(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}${WELL_KNOWN_OPENID_CONFIGURATION}`;
}

const ENDPOINT_FIELDS = [
  'authorization_endpoint',
  'token_endpoint',
  'jwks_uri',
  'userinfo_endpoint',
  'end_session_endpoint',
  'revocation_endpoint',
  'introspection_endpoint',
] as const;
const REQUIRED_FIELDS = ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const;

function validateMetadata(body: Record<string, unknown>, url: string, expectedIssuer: string): OidcMetadata {
  for (const field of REQUIRED_FIELDS) {
    if (typeof body[field] !== 'string' || body[field] === '') {
      throw failed(
        `Discovery failed: the OpenID configuration at ${url} has no "${field}". Check that the URL points to the login server's realm.`,
      );
    }
  }
  if (body.issuer !== expectedIssuer) {
    throw new VmproError(
      'VMPRO_ISSUER_MISMATCH',
      `The OpenID configuration at ${url} names the issuer "${String(body.issuer)}", but "${expectedIssuer}" was expected. ` +
        'The likely cause: the login server sits behind a proxy or uses an internal host name and announces the wrong URL. ' +
        "Fix the login server's frontend URL / hostname setting (Keycloak: hostname or frontendUrl) so that it announces its public URL, " +
        'or correct the configured issuer if it is misspelled. Do not loosen this check.',
    );
  }
  for (const field of ENDPOINT_FIELDS) {
    const value = body[field];
    if (value === undefined) continue;
    const endpoint = typeof value === 'string' ? parseHttpUrl(value) : null;
    if (!endpoint) {
      throw failed(
        `Discovery failed: "${field}" in the OpenID configuration at ${url} is not an http(s) URL.`,
      );
    }
    if (!isSecureOrLoopback(endpoint)) {
      throw failed(
        `Discovery failed: "${field}" in the OpenID configuration at ${url} (${String(value)}) uses plain http:// to a non-loopback host; https:// is required.`,
      );
    }
  }
  return body as OidcMetadata;
}

/**
 * Finds the login server: WebFinger on the API host (`GET {apiBase}/.well-known/webfinger?resource={apiBase}/v1/`),
 * then the OpenID configuration. With `issuer` set, WebFinger is skipped.
 *
 * The WebFinger issuer link may be movingimage's full `…/.well-known/openid-configuration` URL or
 * a bare issuer; both work. The document's `issuer` must equal the expected issuer exactly
 * (`VMPRO_ISSUER_MISMATCH` otherwise), every endpoint must be `https://` (or loopback `http://`).
 * Answers are cached per URL for their `Cache-Control: max-age` (see {@link clearDiscoveryCache}).
 *
 * Errors: `VMPRO_DISCOVERY_FAILED` (with the URL; `retryable` for network failures, timeouts,
 * 5xx and 429), `VMPRO_ISSUER_MISMATCH`, `VMPRO_CONFIG_INVALID`, `VMPRO_ABORTED`.
 *
 * @example
 * ```ts
 * const { issuer, metadata } = await discover({ apiBase: 'https://api.video-cdn.net' });
 * metadata.token_endpoint; // https://login.movingimage.com/auth/realms/platform/protocol/openid-connect/token
 * ```
 */
export async function discover(options: DiscoveryOptions = {}): Promise<DiscoveryResult> {
  const parsed = parseOidcClientOptions({
    clientId: 'discovery',
    ...(options.apiBase !== undefined && { apiBase: options.apiBase }),
    ...(options.issuer !== undefined && { issuer: options.issuer }),
    ...(options.fetch !== undefined && { fetch: options.fetch }),
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
    ...(options.now !== undefined && { now: options.now }),
    ...(options.logger !== undefined && { logger: options.logger }),
  });
  const call = new Call(parsed.fetch, parsed.timeoutMs, options.signal);
  const { now, logger } = parsed;

  let expectedIssuer: string;
  let configurationUrl: string;
  let source: DiscoveryResult['source'];
  if (parsed.issuer !== null) {
    source = 'configured';
    expectedIssuer = parsed.issuer;
    configurationUrl = parsed.issuerConfigurationUrl ?? configurationUrlOf(parsed.issuer);
  } else {
    source = 'webfinger';
    const webfinger = new URL('/.well-known/webfinger', parsed.apiBase);
    webfinger.searchParams.set('resource', `${parsed.apiBase}/v1/`);
    const jrd = await getJson(
      call,
      webfinger.href,
      'application/jrd+json, application/json',
      'WebFinger',
      now,
      logger,
    );
    const links = Array.isArray(jrd.links) ? (jrd.links as unknown[]) : [];
    const link = links.find(
      (l): l is { href: string } =>
        typeof l === 'object' &&
        l !== null &&
        (l as { rel?: unknown }).rel === ISSUER_LINK_REL &&
        typeof (l as { href?: unknown }).href === 'string',
    );
    if (!link) {
      throw failed(
        `Discovery (WebFinger) failed: the answer from ${webfinger.href} has no link with rel "${ISSUER_LINK_REL}". Check apiBase, or set the issuer explicitly.`,
      );
    }
    ({ configurationUrl, issuer: expectedIssuer } = fromIssuerHref(link.href));
  }

  const body = await getJson(call, configurationUrl, 'application/json', 'OpenID configuration', now, logger);
  const metadata = validateMetadata(body, configurationUrl, expectedIssuer);
  return {
    issuer: expectedIssuer,
    metadata: deepFreeze(structuredClone(metadata)),
    source,
    configurationUrl,
  };
}
