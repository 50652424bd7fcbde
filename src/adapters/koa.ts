/**
 * The Koa adapter, for Koa 2 and 3. Koa is imported as types only.
 *
 * Three middleware, the same small surface as the other adapters: `errorHandler()` first (it
 * wraps everything after it), then `middleware()` (answers the auth routes, sets `ctx.vmpro`),
 * then `requireLogin()` on the routes that need a session. The routes are full paths, matched
 * against `ctx.originalUrl`, so they work under `koa-mount` or a router prefix too.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import { createVmproAuth } from 'vmpro-connect/http';
 * import { vmproKoa } from 'vmpro-connect/koa';
 *
 * const vmpro = vmproKoa(createVmproAuth({ ... }));
 * const app = new Koa();
 * app.use(vmpro.errorHandler());   // vmpro-connect errors → 401/502/503/504 with a clear message
 * app.use(vmpro.middleware());     // /auth/login, /auth/callback, /auth/logout, /auth/backchannel-logout; sets ctx.vmpro
 * app.use(vmpro.requireLogin());   // everything after this needs a session
 * app.use(async (ctx) => { ctx.body = await ctx.vmpro.api.vms.list(); });
 * ```
 */
import type { Middleware, ParameterizedContext } from 'koa';
import { isVmproError } from '../errors.js';
import type { AccessRule, RequestLike, VmproAuth, VmproContext } from '../http/index.js';
import { nodeRequestLike, toWebRequest } from './node-request.js';

export type { VmproContext } from '../http/index.js';

declare module 'koa' {
  // ExtendableContext is part of every Koa context type (ParameterizedContext<State, Custom>), so
  // `ctx.vmpro` is typed whatever state and custom context types an app declares.
  interface ExtendableContext {
    /** Set by vmpro-connect's middleware: the session, fresh tokens and the API client of this request. */
    vmpro: VmproContext;
  }
}

export interface VmproKoa {
  readonly auth: VmproAuth;
  /** Answers the auth routes (full paths, matched against `ctx.originalUrl`) and sets `ctx.vmpro` on every other request. */
  middleware(): Middleware;
  /**
   * Without a session: a redirect to login (pages) or `401` JSON (API calls); with one, on to
   * `next()`. With a `rule` (`{ role }`, `{ claims }`), a signed-in user without it gets `403`.
   */
  requireLogin(rule?: AccessRule): Middleware;
  /**
   * Put it first: maps vmpro-connect errors thrown further down to the right status and a clear
   * message. Other errors go on to Koa's own handling (`ctx.throw(404)` stays a 404).
   */
  errorHandler(): Middleware;
}

type Ctx = ParameterizedContext;

/** The request as the session lookup sees it, without building a Web `Request` (hot path). */
function lightRequest(ctx: Ctx, appOrigin: string): RequestLike {
  return nodeRequestLike(appOrigin + ctx.originalUrl, ctx.method, ctx.req.headers);
}

function fullPath(ctx: Ctx): string {
  const url = ctx.originalUrl;
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Puts a Web `Response` on the Koa context (status, every header incl. several Set-Cookie, body). */
async function send(ctx: Ctx, response: Response): Promise<void> {
  ctx.status = response.status;
  for (const [name, value] of response.headers) if (name !== 'set-cookie') ctx.set(name, value);
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) ctx.append('Set-Cookie', cookies);
  const body = response.body ? Buffer.from(await response.arrayBuffer()) : undefined;
  if (body) ctx.body = body;
  else if (response.status === 204 || response.status === 304) ctx.body = null;
  // Not `null`: Koa turns a null body into a 204, which would swallow a redirect.
  else ctx.body = '';
  if (!response.headers.has('content-type')) ctx.remove('Content-Type');
}

/**
 * Creates the Koa adapter over the framework-neutral handlers.
 *
 * @example
 * ```ts
 * const vmpro = vmproKoa(createVmproAuth({ clientId, clientSecret, redirectUri, session: { secrets } }));
 * app.use(vmpro.errorHandler());
 * app.use(vmpro.middleware());
 * ```
 */
export function vmproKoa(auth: VmproAuth): VmproKoa {
  const { appOrigin, routes } = auth.options;
  const own = new Set([routes.login, routes.callback, routes.logout, routes.backchannelLogout]);
  const attach = (ctx: Ctx): VmproContext => {
    ctx.vmpro ??= auth.context(lightRequest(ctx, appOrigin), (cookie) => {
      if (ctx.headerSent) return;
      ctx.append('Set-Cookie', cookie);
      ctx.set('Cache-Control', 'no-store');
    });
    return ctx.vmpro;
  };

  return Object.freeze({
    auth,
    middleware(): Middleware {
      return async function vmproMiddleware(ctx: Ctx, next: () => Promise<unknown>) {
        if (own.has(fullPath(ctx))) {
          const request = await toWebRequest(ctx.req, appOrigin, ctx.originalUrl, {
            readBody: true,
            // What a body parser (koa-bodyparser, @koa/bodyparser) already read, if one ran first.
            parsedBody: (ctx.request as { body?: unknown }).body,
          });
          const response = await auth.handle(request);
          if (response) return send(ctx, response);
        }
        attach(ctx);
        await next();
      };
    },
    requireLogin(rule?: AccessRule): Middleware {
      const guard = auth.guard(rule);
      return async function vmproRequireLogin(ctx: Ctx, next: () => Promise<unknown>) {
        let refusal: Response | null;
        try {
          refusal = await guard(attach(ctx), lightRequest(ctx, appOrigin));
        } catch (error) {
          // The session could not be read (a store outage): a 503, whatever comes after.
          return send(ctx, auth.errorResponse(lightRequest(ctx, appOrigin), error));
        }
        if (refusal) return send(ctx, refusal);
        await next();
      };
    },
    errorHandler(): Middleware {
      return async function vmproErrorHandler(ctx: Ctx, next: () => Promise<unknown>) {
        try {
          await next();
        } catch (error) {
          if (!isVmproError(error) || ctx.headerSent) throw error;
          await send(ctx, auth.errorResponse(lightRequest(ctx, appOrigin), error));
        }
      };
    },
  });
}
