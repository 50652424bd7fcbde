/**
 * The adapter for fetch-style servers: Hono, Next.js route handlers, Bun, Deno, or anything
 * that speaks Web `Request`/`Response`.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 * import { createVmproAuth } from 'vmpro-connect/http';
 * import { vmproWeb } from 'vmpro-connect/web';
 *
 * const vmpro = vmproWeb(createVmproAuth({ ... }));
 * const app = new Hono();
 * app.use(vmpro.hono());                                   // mounts /auth/*, sets c.get('vmpro')
 * app.get('/videos', vmpro.honoRequireLogin(), async (c) => c.json(await c.get('vmpro').api.vms.list()));
 * ```
 */
import type {
  AccessRule,
  RequestLike,
  SetCookieSink,
  VmproAuth,
  VmproContext,
  VmproGuard,
} from '../http/index.js';

export type { VmproContext } from '../http/index.js';

/** A handler that receives the request and its vmpro context. */
export type WebHandler = (request: Request, vmpro: VmproContext) => Response | Promise<Response>;

/** The small structural part of a Hono context this adapter uses (Hono is a type-only import). */
interface HonoLikeContext {
  req: { raw: Request };
  res: Response;
  set(key: 'vmpro', value: VmproContext): void;
  get(key: 'vmpro'): VmproContext;
}
type HonoLikeNext = () => Promise<void>;

export interface VmproWeb {
  readonly auth: VmproAuth;
  /** Answers `/auth/*` (login, callback, logout, back-channel logout); `null` for other paths. */
  handle(request: Request): Promise<Response | null>;
  /** Wraps a handler: it gets the vmpro context; cookie changes land on its response. */
  withVmpro(handler: WebHandler): (request: Request) => Promise<Response>;
  /**
   * Like {@link withVmpro}, but without a session the handler is not called (redirect to login
   * or `401`); with a `rule` (`{ role }`, `{ claims }`), nor for a signed-in user without it (`403`).
   */
  requireLogin(handler: WebHandler, rule?: AccessRule): (request: Request) => Promise<Response>;
  /** Hono middleware: answers the auth routes, and sets `c.get('vmpro')` for every other request. */
  hono(): (c: HonoLikeContext, next: HonoLikeNext) => Promise<Response | undefined>;
  /** Hono guard for one route: redirect to login (pages) or `401` (API calls) without a session; `403` without what `rule` requires. */
  honoRequireLogin(
    rule?: AccessRule,
  ): (c: HonoLikeContext, next: HonoLikeNext) => Promise<Response | undefined>;
  /** For `app.onError(...)`: turns vmpro-connect errors thrown in routes into the right status and message. */
  honoErrorHandler(): (error: Error, c: HonoLikeContext) => Response;
}

/** Appends collected cookies to a response, copying it when its headers are immutable. */
function withCookies(response: Response, cookies: string[]): Response {
  if (cookies.length === 0) return response;
  let out = response;
  try {
    for (const c of cookies) out.headers.append('set-cookie', c);
  } catch {
    out = new Response(response.body, response);
    for (const c of cookies) out.headers.append('set-cookie', c);
  }
  out.headers.set('cache-control', 'no-store');
  return out;
}

/** Creates the web adapter over the framework-neutral handlers. */
export function vmproWeb(auth: VmproAuth): VmproWeb {
  function prepare(request: RequestLike): { vmpro: VmproContext; cookies: string[] } {
    const cookies: string[] = [];
    const sink: SetCookieSink = (c) => cookies.push(c);
    return { vmpro: auth.context(request, sink), cookies };
  }

  async function run(request: Request, handler: WebHandler, guard: VmproGuard | null): Promise<Response> {
    const { vmpro, cookies } = prepare(request);
    try {
      const refusal = guard === null ? null : await guard(vmpro, request);
      if (refusal !== null) return withCookies(refusal, cookies);
      return withCookies(await handler(request, vmpro), cookies);
    } catch (error) {
      return withCookies(auth.errorResponse(request, error), cookies);
    }
  }

  return Object.freeze({
    auth,
    handle: (request: Request) => auth.handle(request),
    withVmpro: (handler: WebHandler) => (request: Request) => run(request, handler, null),
    requireLogin: (handler: WebHandler, rule?: AccessRule) => {
      const guard = auth.guard(rule);
      return (request: Request) => run(request, handler, guard);
    },
    hono() {
      return async function vmproMiddleware(c: HonoLikeContext, next: HonoLikeNext) {
        const request = c.req.raw;
        if (auth.isAuthRoute(request)) {
          const own = await auth.handle(request);
          if (own) return own;
        }
        const { vmpro, cookies } = prepare(request);
        c.set('vmpro', vmpro);
        try {
          await next();
        } catch (error) {
          c.res = auth.errorResponse(request, error);
        }
        if (cookies.length > 0) c.res = withCookies(c.res, cookies);
        return undefined;
      };
    },
    honoRequireLogin(rule?: AccessRule) {
      const guard = auth.guard(rule);
      return async function vmproRequireLogin(c: HonoLikeContext, next: HonoLikeNext) {
        const vmpro = c.get('vmpro');
        try {
          const refusal = await guard(vmpro, c.req.raw);
          if (refusal !== null) return refusal;
        } catch (error) {
          return auth.errorResponse(c.req.raw, error);
        }
        await next();
        return undefined;
      };
    },
    honoErrorHandler() {
      return (error: Error, c: HonoLikeContext) => auth.errorResponse(c.req.raw, error);
    },
  });
}
