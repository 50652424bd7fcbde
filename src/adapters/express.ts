/**
 * The Express adapter, for Express 4.17+ and 5. Express is imported as types only.
 *
 * - **Async safety.** Every handler here catches its own failures and hands them to `next()`, so
 *   none leaves a rejected promise behind (Express 4 does not catch those; an unhandled rejection
 *   ends the process). Wrap your own async routes in {@link VmproExpress.handler} for the same.
 * - **Mounting.** The configured routes (`routes.login`, the path of `redirectUri`…) are full
 *   paths, as the browser sees them, wherever the router is mounted: the router compares them with
 *   `req.originalUrl`, not with `req.path` (which Express makes relative to the mount point). To
 *   serve the auth routes under `/portal`, mount the router there *and* configure the routes under
 *   `/portal` (see docs/frameworks.md).
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { createVmproAuth } from 'vmpro-connect/http';
 * import { vmproExpress } from 'vmpro-connect/express';
 *
 * const vmpro = vmproExpress(createVmproAuth({ ... }));
 * const app = express();
 * app.use(vmpro.router());                     // /auth/login, /auth/callback, /auth/logout, /auth/backchannel-logout; sets req.vmpro
 * app.get('/videos', vmpro.requireLogin(), vmpro.handler(async (req, res) => {
 *   res.json(await req.vmpro.api.vms.list());  // a rejection reaches errorHandler(), on Express 4 too
 * }));
 * app.use(vmpro.errorHandler());               // vmpro-connect errors → 401/502/503/504 with a clear message
 * ```
 */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { AccessRule, RequestLike, VmproAuth, VmproContext } from '../http/index.js';
import { nodeRequestLike, toWebRequest } from './node-request.js';
import { appendSetCookie, sendWebResponse } from './node-response.js';

export type { VmproContext } from '../http/index.js';

declare global {
  // Express 4 and 5 (@types/express 4.17+ and 5) both declare their `Request` through this
  // global namespace, so one augmentation types `req.vmpro` on both.
  namespace Express {
    interface Request {
      /** Set by vmpro-connect's router: the session, fresh tokens and the API client of this request. */
      vmpro: VmproContext;
    }
  }
}

/** A route handler that may be `async`; what {@link VmproExpress.handler} wraps. */
export type VmproRouteHandler<P = Request['params']> = (
  req: Request<P>,
  res: Response,
  next: NextFunction,
) => unknown;

export interface VmproExpress {
  readonly auth: VmproAuth;
  /**
   * Answers the auth routes and sets `req.vmpro` on every other request. The routes are matched
   * against the full path (`req.originalUrl`), so the router works mounted under a path too.
   */
  router(): RequestHandler;
  /**
   * Without a session: a redirect to login (pages) or `401` JSON (API calls). With a `rule`
   * (`{ role }`, `{ claims }`), a signed-in user without it gets `403`.
   */
  requireLogin(rule?: AccessRule): RequestHandler;
  /**
   * Wraps a route handler, `async` or not: whatever it throws or rejects with goes to `next()`
   * (and so to {@link errorHandler}), on Express 4 as on 5, and `req.vmpro` is set even where
   * the router is not mounted.
   */
  handler<P = Request['params']>(fn: VmproRouteHandler<P>): RequestHandler<P>;
  /** Maps vmpro-connect errors from your routes to the right status and a clear message. */
  errorHandler(): ErrorRequestHandler;
}

/** The request as the session lookup sees it, without building a Web `Request` (hot path). */
function lightRequest(req: Request, appOrigin: string): RequestLike {
  return nodeRequestLike(appOrigin + req.originalUrl, req.method, req.headers);
}

/** The full path of the request (`originalUrl` without the query), wherever the router is mounted. */
function fullPath(req: Request): string {
  const url = req.originalUrl ?? req.url;
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * Creates the Express adapter over the framework-neutral handlers.
 *
 * @example
 * ```ts
 * const vmpro = vmproExpress(createVmproAuth({ clientId, clientSecret, redirectUri, session: { secrets } }));
 * app.use(vmpro.router());
 * ```
 */
export function vmproExpress(auth: VmproAuth): VmproExpress {
  const { appOrigin, routes } = auth.options;
  const own = new Set([routes.login, routes.callback, routes.logout, routes.backchannelLogout]);
  const attach = (req: Request, res: Response) => {
    req.vmpro ??= auth.context(lightRequest(req, appOrigin), (cookie) => {
      if (res.headersSent) return;
      appendSetCookie(res, [cookie]);
      res.setHeader('cache-control', 'no-store');
    });
    return req.vmpro;
  };

  return Object.freeze({
    auth,
    router(): RequestHandler {
      return async function vmproRouter(req: Request, res: Response, next: NextFunction) {
        try {
          if (own.has(fullPath(req))) {
            const request = await toWebRequest(req, appOrigin, req.originalUrl, {
              readBody: true,
              parsedBody: (req as { body?: unknown }).body,
            });
            const response = await auth.handle(request);
            if (response) return await sendWebResponse(res, response);
          }
          attach(req, res);
          next();
        } catch (error) {
          next(error);
        }
      };
    },
    requireLogin(rule?: AccessRule): RequestHandler {
      const guard = auth.guard(rule);
      return async function vmproRequireLogin(req: Request, res: Response, next: NextFunction) {
        try {
          const refusal = await guard(attach(req, res), lightRequest(req, appOrigin));
          if (refusal === null) return next();
          await sendWebResponse(res, refusal);
        } catch (error) {
          next(error);
        }
      };
    },
    handler<P = Request['params']>(fn: VmproRouteHandler<P>): RequestHandler<P> {
      if (typeof fn !== 'function') throw new TypeError('vmpro.handler(fn): fn must be a function.');
      return function vmproHandler(req: Request<P>, res: Response, next: NextFunction): void {
        try {
          attach(req as unknown as Request, res);
          const result = fn(req, res, next);
          if (result && typeof (result as PromiseLike<unknown>).then === 'function') {
            (result as PromiseLike<unknown>).then(undefined, next);
          }
        } catch (error) {
          next(error);
        }
      };
    },
    errorHandler(): ErrorRequestHandler {
      // Four parameters: that is how Express (4 and 5) tells an error handler from a middleware.
      return function vmproErrorHandler(error: unknown, req: Request, res: Response, next: NextFunction) {
        if (res.headersSent) return next(error);
        sendWebResponse(res, auth.errorResponse(lightRequest(req, appOrigin), error)).catch(next);
      };
    },
  });
}
