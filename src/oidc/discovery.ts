import { configError, VmproError } from '../errors.js';
import { isSecureOrLoopback } from '../internal/url.js';
import type { Logger } from '../logger.js';
import { parseOidcClientOptions, WELL_KNOWN_OPENID_CONFIGURATION } from './config.js';
import type { DiscoveryCache } from './discovery-cache.js';
import { Call, transportFailure } from './transport.js';

/** The link relation of the issuer in a WebFinger answer (OpenID Connect Discovery §2). */
export const ISSUER_LINK_REL = 'http://openid.net/specs/connect/1.0/issuer';

const MAX_BODY_CHARS = 1_000_000;
const WEBFINGER_ACCEPT = 'application/jrd+json, application/json';
const MAX_CACHE_SEC = 86_400;

/** The OpenID configuration of the login server (the fields this package reads, plus the rest). */
export interface OidcMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  end_session_endpoint?: string | undefined;
  revocation_endpoint?: string | undefined;
  userinfo_endpoint?: string | undefined;
  introspection_endpoint?: string | undefined;
  code_challenge_methods_supported?: string[] | undefined;
  id_token_signing_alg_values_supported?: string[] | undefined;
  authorization_response_iss_parameter_supported?: boolean | undefined;
  grant_types_supported?: string[] | undefined;
  [field: string]: unknown;
}

export interface DiscoveryOptions {
  /** API origin; WebFinger runs here. Default `https://api.video-cdn.net`. */
  apiBase?: string | undefined;
  /** The bare issuer (or its configuration URL): skips WebFinger. */
  issuer?: string | undefined;
  fetch?: typeof fetch | undefined;
  /** Per request, default 10 000. */
  timeoutMs?: number | undefined;
  /** Clock for the cache, epoch ms. */
  now?: () => number;
  logger?: Logger | undefined;
  signal?: AbortSignal | undefined;
  /** Where answers are reused for their `Cache-Control: max-age`. Default: nothing is cached. */
  cache?: DiscoveryCache | undefined;
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

/** Options of the send steps ({@link webfingerRequest}, {@link discoveryRequest}). */
export interface DiscoveryRequestOptions {
  /** Default: the global `fetch`. */
  fetch?: typeof fetch | undefined;
  /** Per request, default 10 000. */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** Where an OpenID configuration is, and the issuer it must name. */
export interface DiscoveryTarget {
  /** The expected issuer, compared exactly with the document's `issuer`. */
  issuer: string;
  /** The URL of the OpenID configuration. */
  configurationUrl: string;
}

/** What {@link processWebfingerResponse} found: the target, and what it was read from. */
export interface WebfingerResult extends DiscoveryTarget {
  /** The `href` of the issuer link as the API host sent it. */
  issuerLink: string;
  /** The whole WebFinger answer (JRD), deeply frozen: `subject`, `links`… */
  document: Readonly<Record<string, unknown>>;
}

/** Which answer came from which send step, so that reading its body can tell a timeout. */
const sent = new WeakMap<Response, Call>();

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

/** Validated request settings; `extra` adds the option whose URL the request goes to. */
function settings(options: DiscoveryRequestOptions, extra: { apiBase?: string; issuer?: string } = {}) {
  return parseOidcClientOptions({
    clientId: 'discovery',
    ...extra,
    ...(options.fetch !== undefined && { fetch: options.fetch }),
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
  });
}

async function send(
  url: string,
  accept: string,
  what: string,
  options: DiscoveryRequestOptions,
  parsed: { fetch: typeof fetch; timeoutMs: number },
): Promise<Response> {
  const call = new Call(parsed.fetch, parsed.timeoutMs, options.signal);
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
  sent.set(response, call);
  return response;
}

/** The JSON object in a discovery answer, and for how long it may be reused. */
async function readJson(
  response: Response,
  url: string,
  what: string,
): Promise<{ body: Record<string, unknown>; maxAge: number }> {
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
    const call = sent.get(response);
    throw (
      (call && transportFailure(call, err, `Discovery (${what})`, { code: 'VMPRO_DISCOVERY_FAILED' })) ??
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
  return { body: body as Record<string, unknown>, maxAge: maxAgeOf(response) };
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

function validateMetadata(
  body: Readonly<Record<string, unknown>>,
  url: string,
  expectedIssuer: string,
): OidcMetadata {
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

/** `{apiBase}/.well-known/webfinger?resource={apiBase}/v1/`, the question movingimage's API host answers. */
function webfingerUrl(apiBase: string): string {
  const url = new URL('/.well-known/webfinger', apiBase);
  url.searchParams.set('resource', `${apiBase}/v1/`);
  return url.href;
}

/** The issuer link of a WebFinger answer, as a {@link WebfingerResult}. */
function webfingerTarget(jrd: Readonly<Record<string, unknown>>, url: string): WebfingerResult {
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
      `Discovery (WebFinger) failed: the answer from ${url} has no link with rel "${ISSUER_LINK_REL}". Check apiBase, or set the issuer explicitly.`,
    );
  }
  return { ...fromIssuerHref(link.href), issuerLink: link.href, document: deepFreeze(structuredClone(jrd)) };
}

/** A configured issuer (bare, or its configuration URL) as a {@link DiscoveryTarget}. */
function configuredTarget(parsed: {
  issuer: string | null;
  issuerConfigurationUrl: string | null;
}): DiscoveryTarget {
  const issuer = parsed.issuer as string;
  return { issuer, configurationUrl: parsed.issuerConfigurationUrl ?? configurationUrlOf(issuer) };
}

function targetOf(target: string | DiscoveryTarget, options: DiscoveryRequestOptions = {}): DiscoveryTarget {
  if (typeof target === 'string') return configuredTarget(settings(options, { issuer: target }));
  if (typeof target !== 'object' || target === null || typeof target.issuer !== 'string') {
    throw configError('target', 'must be an issuer URL or { issuer, configurationUrl }');
  }
  const url = typeof target.configurationUrl === 'string' ? parseHttpUrl(target.configurationUrl) : null;
  if (!url || !isSecureOrLoopback(url)) {
    throw configError(
      'configurationUrl',
      'must be an https:// URL (plain http:// only for loopback hosts: 127.0.0.0/8, ::1, localhost)',
    );
  }
  return { issuer: target.issuer, configurationUrl: target.configurationUrl };
}

/**
 * Send step of WebFinger: `GET {apiBase}/.well-known/webfinger?resource={apiBase}/v1/` with the
 * timeout, no redirects followed. Returns the answer unread, whatever its status; read it with
 * {@link processWebfingerResponse}. A request that gets no answer is `VMPRO_DISCOVERY_FAILED`
 * (`retryable`, timeouts say so) or `VMPRO_ABORTED`; a bad `apiBase` is `VMPRO_CONFIG_INVALID`.
 *
 * @example
 * ```ts
 * const response = await webfingerRequest('https://api.video-cdn.net');
 * const { issuer, configurationUrl } = await processWebfingerResponse('https://api.video-cdn.net', response);
 * ```
 */
export async function webfingerRequest(
  apiBase: string,
  options: DiscoveryRequestOptions = {},
): Promise<Response> {
  const parsed = settings(options, { apiBase });
  return send(webfingerUrl(parsed.apiBase), WEBFINGER_ACCEPT, 'WebFinger', options, parsed);
}

/**
 * Process step of WebFinger: checks the answer to {@link webfingerRequest} (status 200, a JSON
 * object) and follows its issuer link (rel {@link ISSUER_LINK_REL}): movingimage's full
 * `…/.well-known/openid-configuration` URL or a bare issuer, `https://` (or loopback `http://`).
 * Failures are `VMPRO_DISCOVERY_FAILED` naming the URL, `retryable` for 5xx, 429 and 408.
 *
 * @example
 * ```ts
 * const target = await processWebfingerResponse(apiBase, await webfingerRequest(apiBase));
 * const metadata = await processDiscoveryResponse(target, await discoveryRequest(target));
 * ```
 */
export async function processWebfingerResponse(
  apiBase: string,
  response: Response,
): Promise<WebfingerResult> {
  const url = webfingerUrl(settings({}, { apiBase }).apiBase);
  const { body } = await readJson(response, url, 'WebFinger');
  return webfingerTarget(body, url);
}

/**
 * Send step of OpenID Connect discovery: `GET` the OpenID configuration of `target` — an issuer
 * (bare, or its configuration URL, as the `issuer` option) or what {@link processWebfingerResponse}
 * returned. Returns the answer unread; read it with {@link processDiscoveryResponse}. Errors as
 * {@link webfingerRequest}.
 *
 * @example
 * ```ts
 * const issuer = 'https://login.movingimage.com/auth/realms/platform';
 * const metadata = await processDiscoveryResponse(issuer, await discoveryRequest(issuer));
 * ```
 */
export async function discoveryRequest(
  target: string | DiscoveryTarget,
  options: DiscoveryRequestOptions = {},
): Promise<Response> {
  const { configurationUrl } = targetOf(target, options);
  return send(configurationUrl, 'application/json', 'OpenID configuration', options, settings(options));
}

/**
 * Process step of OpenID Connect discovery: checks the answer to {@link discoveryRequest} and
 * returns the configuration, deeply frozen. Its `issuer` must equal the expected one exactly
 * (`VMPRO_ISSUER_MISMATCH` otherwise, naming both and the likely cause); the required endpoints
 * must be there and every endpoint `https://` (or loopback `http://`), else
 * `VMPRO_DISCOVERY_FAILED`. Whether the server offers PKCE S256 is {@link createOidcClient}'s check.
 *
 * @example
 * ```ts
 * const metadata = await processDiscoveryResponse(target, await discoveryRequest(target));
 * metadata.token_endpoint;
 * ```
 */
export async function processDiscoveryResponse(
  expected: string | DiscoveryTarget,
  response: Response,
): Promise<Readonly<OidcMetadata>> {
  const target = targetOf(expected);
  const { body } = await readJson(response, target.configurationUrl, 'OpenID configuration');
  return deepFreeze(structuredClone(validateMetadata(body, target.configurationUrl, target.issuer)));
}

/**
 * One answer: from `cache` while fresh, else sent and read, and kept for its max-age.
 */
async function cachedJson(
  url: string,
  what: string,
  request: () => Promise<Response>,
  context: { cache: DiscoveryCache | undefined; now: () => number; logger: Logger },
): Promise<Readonly<Record<string, unknown>>> {
  const { cache, now, logger } = context;
  const cached = cache?.get(url, now());
  if (cached) {
    logger.debug('discovery: cache hit', { url });
    return cached;
  }
  const { body, maxAge } = await readJson(await request(), url, what);
  if (cache && maxAge > 0) cache.set(url, body, now() + maxAge * 1000);
  logger.debug('discovery: fetched', { url, cacheSeconds: maxAge });
  return body;
}

/**
 * Finds the login server: WebFinger on the API host (`GET {apiBase}/.well-known/webfinger?resource={apiBase}/v1/`),
 * then the OpenID configuration. With `issuer` set, WebFinger is skipped. The steps one by one:
 * {@link webfingerRequest} / {@link processWebfingerResponse}, {@link discoveryRequest} /
 * {@link processDiscoveryResponse}.
 *
 * The WebFinger issuer link may be movingimage's full `…/.well-known/openid-configuration` URL or
 * a bare issuer; both work. The document's `issuer` must equal the expected issuer exactly
 * (`VMPRO_ISSUER_MISMATCH` otherwise), every endpoint must be `https://` (or loopback `http://`).
 * With a `cache` (see {@link createDiscoveryCache}), answers are reused per URL for their
 * `Cache-Control: max-age`.
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
  const request: DiscoveryRequestOptions = {
    fetch: parsed.fetch,
    timeoutMs: parsed.timeoutMs,
    ...(options.signal !== undefined && { signal: options.signal }),
  };
  const context = { cache: options.cache, now: parsed.now, logger: parsed.logger };

  let target: DiscoveryTarget;
  let source: DiscoveryResult['source'];
  if (parsed.issuer !== null) {
    source = 'configured';
    target = configuredTarget(parsed);
  } else {
    source = 'webfinger';
    const url = webfingerUrl(parsed.apiBase);
    const jrd = await cachedJson(url, 'WebFinger', () => webfingerRequest(parsed.apiBase, request), context);
    target = webfingerTarget(jrd, url);
  }

  const body = await cachedJson(
    target.configurationUrl,
    'OpenID configuration',
    () => discoveryRequest(target, request),
    context,
  );
  const metadata = validateMetadata(body, target.configurationUrl, target.issuer);
  return {
    issuer: target.issuer,
    metadata: deepFreeze(structuredClone(metadata)),
    source,
    configurationUrl: target.configurationUrl,
  };
}
