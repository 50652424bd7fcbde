/**
 * The Express 5 adapter. Express is imported as types only.
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
 * app.get('/videos', vmpro.requireLogin(), async (req, res) => res.json(await req.vmpro.api.vms.list()));
 * app.use(vmpro.errorHandler());               // vmpro-connect errors → 401/502/503/504 with a clear message
 * ```
 */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { RequestLike, VmproAuth, VmproContext } from '../http/index.js';
import { nodeRequestLike, toWebRequest } from './node-request.js';
import { appendSetCookie, sendWebResponse } from './node-response.js';

export type { VmproContext } from '../http/index.js';

declare global {
  namespace Express {
    interface Request {
      /** Set by vmpro-connect's router: the session, fresh tokens and the API client of this request. */
      vmpro: VmproContext;
    }
  }
}

export interface VmproExpress {
  readonly auth: VmproAuth;
  /** Mounts the auth routes and sets `req.vmpro` on every other request. */
  router(): RequestHandler;
  /** Without a session: a redirect to login (pages) or `401` JSON (API calls). */
  requireLogin(): RequestHandler;
  /** Maps vmpro-connect errors from your routes to the right status and a clear message. */
  errorHandler(): ErrorRequestHandler;
}

/** The request as the session lookup sees it, without building a Web `Request` (hot path). */
function lightRequest(req: Request, appOrigin: string): RequestLike {
  return nodeRequestLike(appOrigin + req.originalUrl, req.method, req.headers);
}

/** Creates the Express adapter over the framework-neutral handlers. */
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
          if (own.has(req.path)) {
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
    requireLogin(): RequestHandler {
      return async function vmproRequireLogin(req: Request, res: Response, next: NextFunction) {
        try {
          if (await attach(req, res).session()) return next();
          await sendWebResponse(res, auth.unauthenticated(lightRequest(req, appOrigin)));
        } catch (error) {
          next(error);
        }
      };
    },
    errorHandler(): ErrorRequestHandler {
      return function vmproErrorHandler(error: unknown, req: Request, res: Response, next: NextFunction) {
        if (res.headersSent) return next(error);
        sendWebResponse(res, auth.errorResponse(lightRequest(req, appOrigin), error)).catch(next);
      };
    },
  });
}
