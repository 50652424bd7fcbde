/**
 * The Fastify 5 adapter, as a plugin. Fastify is imported as types only.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { createVmproAuth } from 'vmpro-connect/http';
 * import { vmproFastify } from 'vmpro-connect/fastify';
 *
 * const vmpro = vmproFastify(createVmproAuth({ ... }));
 * const app = Fastify();
 * await app.register(vmpro.plugin);                 // /auth/* routes, request.vmpro on every request
 * app.get('/videos', { preHandler: vmpro.requireLogin() }, async (request) => request.vmpro.api.vms.list());
 * ```
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { AccessRule, RequestLike, VmproAuth, VmproContext } from '../http/index.js';
import { nodeRequestLike, toWebRequest } from './node-request.js';

export type { VmproContext } from '../http/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by vmpro-connect's plugin: the session, fresh tokens and the API client of this request. */
    vmpro: VmproContext;
  }
}

export interface VmproFastify {
  readonly auth: VmproAuth;
  /** Register it: mounts the auth routes, sets `request.vmpro`, maps vmpro-connect errors to statuses. */
  readonly plugin: (app: FastifyInstance) => Promise<void>;
  /**
   * A `preHandler`: without a session, a redirect to login (pages) or `401` JSON (API calls).
   * With a `rule` (`{ role }`, `{ claims }`), a signed-in user without it gets `403`.
   */
  requireLogin(rule?: AccessRule): preHandlerAsyncHookHandler;
  /** For `app.setErrorHandler(...)`: vmpro-connect errors → the right status and a clear message. */
  errorHandler(): (error: unknown, request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;
}

async function sendReply(reply: FastifyReply, response: Response): Promise<FastifyReply> {
  reply.code(response.status);
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') reply.header(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) reply.header('set-cookie', cookies);
  const body = response.body ? Buffer.from(await response.arrayBuffer()) : '';
  return reply.send(body);
}

/** The request as the session lookup sees it, without building a Web `Request` (hot path). */
function lightRequest(request: FastifyRequest, appOrigin: string): RequestLike {
  return nodeRequestLike(appOrigin + request.url, request.method, request.headers);
}

/** Creates the Fastify adapter over the framework-neutral handlers. */
export function vmproFastify(auth: VmproAuth): VmproFastify {
  const { appOrigin, routes } = auth.options;

  async function plugin(app: FastifyInstance): Promise<void> {
    app.decorateRequest('vmpro', null as unknown as VmproContext);
    app.addHook('onRequest', async (request, reply) => {
      request.vmpro = auth.context(lightRequest(request, appOrigin), (cookie) => {
        if (reply.sent) return;
        const existing = reply.getHeader('set-cookie');
        const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
        reply.header('set-cookie', [...list, cookie]);
        reply.header('cache-control', 'no-store');
      });
    });
    // Auth routes live in their own encapsulated context, so the form parser they need does not
    // change how the rest of the app parses bodies.
    await app.register(async (scope) => {
      scope.removeContentTypeParser('application/x-www-form-urlencoded');
      scope.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: 64 * 1024 },
        (_request, body, done) => done(null, body),
      );
      const handler = async (request: FastifyRequest, reply: FastifyReply) => {
        const webRequest = await toWebRequest(request.raw, appOrigin, request.url, {
          readBody: true,
          parsedBody: typeof request.body === 'string' ? request.body : '',
        });
        const response = await auth.handle(webRequest);
        return sendReply(reply, response ?? new Response(null, { status: 404 }));
      };
      for (const url of [routes.login, routes.callback, routes.logout, routes.backchannelLogout]) {
        scope.route({ method: ['GET', 'HEAD', 'POST'], url, handler, exposeHeadRoute: false });
      }
    });
  }
  // Like fastify-plugin: the decorator and hook apply to the whole app, not only inside the plugin.
  (plugin as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')] = true;

  return Object.freeze({
    auth,
    plugin,
    requireLogin(rule?: AccessRule): preHandlerAsyncHookHandler {
      const guard = auth.guard(rule);
      return async function vmproRequireLogin(request: FastifyRequest, reply: FastifyReply) {
        try {
          const refusal = await guard(request.vmpro, lightRequest(request, appOrigin));
          if (refusal === null) return;
          await sendReply(reply, refusal);
        } catch (error) {
          await sendReply(reply, auth.errorResponse(lightRequest(request, appOrigin), error));
        }
      };
    },
    errorHandler() {
      return (error: unknown, request: FastifyRequest, reply: FastifyReply) =>
        sendReply(reply, auth.errorResponse(lightRequest(request, appOrigin), error));
    },
  });
}
