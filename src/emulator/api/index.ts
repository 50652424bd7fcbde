/**
 * The emulator's VideoManager Pro REST API as a fetch handler: WebFinger discovery, the bearer
 * check, the `/v1/vms/…` endpoints over seeded demo data, an `asset-in`-like upload receiver,
 * an optional per-user rate limit, fault injection and request counters.
 *
 * It is the *other party*: it shares no code with the client side of vmpro-connect.
 */
import { randomBytes } from 'node:crypto';
import type { ApiState, Caller, Ctx, Handler } from './context.js';
import type { ApiCounters, ApiFault, ApiPrincipal, VmproApi, VmproApiOptions } from './contract.js';
import { seed } from './data.js';
import { ApiError, EmulatorConnectionReset } from './errors.js';
import { applyFault, FaultList } from './faults.js';
import { empty, errorResponse, json, Query, readJsonObject } from './http.js';
import { RateLimiter } from './rate-limit.js';
import { Router } from './router.js';
import { accountRoutes, LEGACY_AUTH_TEMPLATES } from './routes/account.js';
import { analyticsRoutes } from './routes/analytics.js';
import { attachmentRoutes } from './routes/attachments.js';
import { channelRoutes } from './routes/channels.js';
import { corporateTubeRoutes } from './routes/corporate-tube.js';
import { discoveryRoutes } from './routes/discovery.js';
import { mediaRoutes } from './routes/media.js';
import { searchRoutes } from './routes/search.js';
import { UPLOAD_PATH_PREFIX, uploadRoutes } from './routes/upload.js';
import { userInfoRoutes } from './routes/user-info.js';
import { videoRoutes } from './routes/videos.js';

export type {
  ApiCounters,
  ApiFault,
  ApiIdentity,
  ApiPrincipal,
  VmproApi,
  VmproApiOptions,
} from './contract.js';
export { DEMO_USERS } from './contract.js';
export { EmulatorConnectionReset } from './errors.js';

const CONTROL_PREFIX = '/_emulator/api/';
const REALM = 'platform';

/** Builds the routing table once; handlers are stateless, the state travels in `Ctx`. */
function buildRouter(): Router<Handler> {
  const router = new Router<Handler>();
  discoveryRoutes(router);
  accountRoutes(router);
  videoRoutes(router);
  mediaRoutes(router);
  channelRoutes(router);
  searchRoutes(router);
  uploadRoutes(router);
  attachmentRoutes(router);
  corporateTubeRoutes(router);
  analyticsRoutes(router);
  userInfoRoutes(router);
  return router;
}

function checkOptions(options: VmproApiOptions): void {
  for (const name of ['verifyAccessToken', 'origin', 'issuer', 'now'] as const) {
    if (typeof options?.[name] !== 'function') {
      throw new TypeError(`createVmproApi: options.${name} must be a function.`);
    }
  }
  const limit = options.rateLimitPerMinute;
  if (limit !== undefined && limit !== false && !(Number.isSafeInteger(limit) && limit > 0)) {
    throw new TypeError('createVmproApi: options.rateLimitPerMinute must be a whole number > 0, or false.');
  }
}

/** A `401` from the bearer check (RFC 6750 section 3): no error code when no token was sent. */
function unauthorized(message: string, error?: { code: string; description: string }): Response {
  const challenge = error
    ? `Bearer realm="${REALM}", error="${error.code}", error_description="${error.description}"`
    : `Bearer realm="${REALM}"`;
  return json(401, { message }, { 'www-authenticate': challenge });
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/**
 * Creates one emulated API with its own demo data, faults, counters and rate-limit window.
 *
 * @example
 * ```ts
 * const api = createVmproApi({
 *   verifyAccessToken: (token) => keycloak.verifyAccessToken(token),
 *   origin: () => `http://127.0.0.1:${port}`,
 *   issuer: () => `http://127.0.0.1:${port}/auth/realms/platform`,
 *   now: () => clock.now(),
 *   rateLimitPerMinute: 100,
 * });
 * const response = (await api.handle(request)) ?? loginServer.handle(request);
 * ```
 */
export function createVmproApi(options: VmproApiOptions): VmproApi {
  checkOptions(options);
  const router = buildRouter();
  const faults = new FaultList();
  const limit = options.rateLimitPerMinute;
  const limiter = limit ? new RateLimiter(limit) : null;
  const state: ApiState = { data: seed(), legacyTokens: new Map(), uploadKey: randomBytes(32) };
  let counters: ApiCounters = { requests: {}, unauthorized: 0 };

  const origin = () => options.origin().replace(/\/+$/, '');

  /** The caller of a `/v1/**` request, or the `401` to answer with. */
  async function authenticate(request: Request, url: URL, now: number): Promise<Caller | Response> {
    if (url.searchParams.has('access_token')) {
      return unauthorized(
        'Send the access token in the Authorization header; tokens in the URL are refused.',
        {
          code: 'invalid_request',
          description: 'Access tokens in the query string are not accepted',
        },
      );
    }
    const header = request.headers.get('authorization');
    const parsed = header === null ? null : /^(\S+)(?:[ \t]+(.*))?$/.exec(header.trim());
    if (parsed === null || parsed[1]!.toLowerCase() !== 'bearer') {
      return unauthorized('This request needs an access token: send "Authorization: Bearer <access token>".');
    }
    const token = parsed[2]?.trim() ?? '';
    const invalid = (description: string) =>
      unauthorized('The access token is missing, invalid or expired. Get a new one and try again.', {
        code: 'invalid_token',
        description,
      });
    if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) return invalid('The bearer token is malformed');
    const legacy = state.legacyTokens.get(token);
    if (legacy && legacy.kind === 'access') {
      if (legacy.expiresAt <= now) return invalid('The access token has expired');
      return {
        sub: legacy.sub,
        preferredUsername: undefined,
        exp: Math.floor(legacy.expiresAt / 1000),
        legacyVideoManagerId: legacy.videoManagerId,
      };
    }
    let principal: ApiPrincipal | null;
    try {
      principal = await options.verifyAccessToken(token);
    } catch {
      principal = null;
    }
    if (principal === null) return invalid('The access token is invalid or has expired');
    if (principal.exp * 1000 <= now) return invalid('The access token has expired');
    return { sub: principal.sub, preferredUsername: principal.preferred_username, exp: principal.exp };
  }

  async function serve(request: Request, url: URL): Promise<Response> {
    const method = request.method.toUpperCase();
    const match = router.match(method, url.pathname);
    const template =
      match.kind === 'found'
        ? match.route.template
        : match.kind === 'method-not-allowed'
          ? match.template
          : '(no route)';
    const key = `${method} ${template}`;
    counters.requests[key] = (counters.requests[key] ?? 0) + 1;

    const fault = faults.take(method, url.pathname);
    if (fault) {
      const answer = await applyFault(fault, request.signal);
      if (answer) return answer;
    }

    const now = options.now();
    let caller: Caller | null = null;
    const isV1 = url.pathname === '/v1' || url.pathname.startsWith('/v1/');
    if (isV1 && !(match.kind === 'found' && LEGACY_AUTH_TEMPLATES.includes(match.route.template))) {
      const result = await authenticate(request, url, now);
      if (result instanceof Response) {
        counters.unauthorized += 1;
        return result;
      }
      caller = result;
      const wait = limiter?.take(caller.sub, now) ?? null;
      if (wait !== null) {
        return json(
          429,
          { message: `Too many requests: the limit is ${limit} per minute. Retry after ${wait} seconds.` },
          { 'retry-after': String(wait) },
        );
      }
    }

    if (match.kind === 'not-found')
      throw new ApiError(404, `There is no ${method} ${url.pathname} in this API.`);
    if (match.kind === 'method-not-allowed') {
      throw new ApiError(405, `${method} is not allowed here; use ${match.allowed.join(' or ')}.`, {
        headers: { allow: match.allowed.join(', ') },
      });
    }
    const ctx: Ctx = {
      request,
      url,
      params: match.params,
      query: new Query(url.searchParams),
      caller,
      state,
      now,
      origin: origin(),
      issuer: options.issuer(),
      verifyIdToken: options.verifyIdToken,
    };
    return await match.route.handler(ctx);
  }

  async function control(request: Request, url: URL): Promise<Response> {
    // No credentials, by design; but a web page in a browser must not drive the emulator.
    const fetchSite = request.headers.get('sec-fetch-site');
    const requestOrigin = request.headers.get('origin');
    if (
      (fetchSite !== null && fetchSite !== 'same-origin' && fetchSite !== 'none') ||
      (requestOrigin !== null && requestOrigin !== origin())
    ) {
      throw new ApiError(403, 'Control endpoints refuse cross-site requests from browsers.');
    }
    const method = request.method.toUpperCase();
    const action = url.pathname.slice(CONTROL_PREFIX.length).replace(/\/+$/, '');
    const allow = (allowed: string) =>
      new ApiError(405, `Use ${allowed} on ${url.pathname}.`, { headers: { allow: allowed } });
    switch (action) {
      case 'faults':
        if (method === 'POST') {
          const body = await readJsonObject(request);
          try {
            return json(201, { fault: faults.add(body as unknown as ApiFault) });
          } catch (error) {
            if (error instanceof TypeError) throw new ApiError(400, error.message);
            throw error;
          }
        }
        if (method === 'DELETE') {
          faults.clear();
          return empty(204);
        }
        if (method === 'GET') return json(200, { faults: faults.list() });
        throw allow('GET, POST, DELETE');
      case 'counters':
        if (method === 'GET') return json(200, api.counters());
        throw allow('GET');
      case 'reset':
        if (method === 'POST') {
          api.reset();
          return empty(204);
        }
        throw allow('POST');
      default:
        throw new ApiError(
          404,
          `Unknown control endpoint; there are ${CONTROL_PREFIX}faults, counters and reset.`,
        );
    }
  }

  const api: VmproApi = {
    async handle(request) {
      const url = new URL(request.url);
      const path = url.pathname;
      const isControl = path.startsWith(CONTROL_PREFIX);
      const ours =
        isControl ||
        path === '/.well-known/webfinger' ||
        path === '/v1' ||
        path.startsWith('/v1/') ||
        path.startsWith(UPLOAD_PATH_PREFIX);
      if (!ours) return null;
      try {
        return isControl ? await control(request, url) : await serve(request, url);
      } catch (error) {
        if (error instanceof ApiError) return errorResponse(error);
        if (error instanceof EmulatorConnectionReset || isAbort(error)) throw error;
        const detail = error instanceof Error ? error.message : String(error);
        return json(500, { message: `The emulated API failed unexpectedly: ${detail}` });
      }
    },
    addFault(fault) {
      faults.add(fault);
    },
    clearFaults() {
      faults.clear();
    },
    counters() {
      return { requests: { ...counters.requests }, unauthorized: counters.unauthorized };
    },
    reset() {
      state.data = seed();
      state.legacyTokens.clear();
      faults.clear();
      limiter?.clear();
      counters = { requests: {}, unauthorized: 0 };
    },
  };
  return api;
}
