/**
 * The NestJS adapter (Nest 11, Express platform): a dynamic module that mounts the auth routes,
 * a guard, parameter decorators for the user and the API client, and an exception filter that
 * turns vmpro-connect errors into the right status and a clear message (Nest catches errors from
 * controllers before any Express error handler could).
 *
 * Written without decorator syntax (`Injectable()(Class)` and so on), so this library compiles
 * without `experimentalDecorators`; apps use the decorators as usual.
 *
 * @example
 * ```ts
 * import { Controller, Get, Module, UseGuards } from '@nestjs/common';
 * import { VmproApi, VmproGuard, VmproModule, VmproUser } from 'vmpro-connect/nestjs';
 * import type { VmproApiClient } from 'vmpro-connect/api';
 * import type { SessionUser } from 'vmpro-connect/session';
 *
 * @Controller()
 * class VideosController {
 *   @Get('videos')
 *   @UseGuards(VmproGuard)
 *   async videos(@VmproUser() user: SessionUser, @VmproApi() api: VmproApiClient) {
 *     return { name: user.name, vms: await api.vms.list() };
 *   }
 * }
 *
 * @Module({
 *   imports: [VmproModule.forRoot({ clientId, clientSecret, redirectUri, session: { secrets } })],
 *   controllers: [VideosController],
 * })
 * export class AppModule {}
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type ArgumentsHost,
  type CanActivate,
  Catch,
  createParamDecorator,
  type DynamicModule,
  type ExceptionFilter,
  type ExecutionContext,
  type FactoryProvider,
  Inject,
  Injectable,
  type MiddlewareConsumer,
  Module,
  type ModuleMetadata,
  type NestModule,
  type OnModuleDestroy,
  type Provider,
  RequestMethod,
  SetMetadata,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, Reflector } from '@nestjs/core';
import type { VmproApiClient } from '../api/index.js';
import { configError, VmproError } from '../errors.js';
import {
  type AccessRule,
  createVmproAuth,
  type VmproGuard as GuardFunction,
  type VmproAuth,
  type VmproAuthOptions,
  type VmproContext,
} from '../http/index.js';
import type { SessionUser } from '../session/index.js';
import { vmproExpress } from './express.js';
import { nodeRequestLike } from './node-request.js';
import { appendSetCookie, sendWebResponse } from './node-response.js';

export type { VmproContext } from '../http/index.js';

/**
 * Injection token of the module's {@link VmproAuth}, for your own providers.
 *
 * @example
 * ```ts
 * @Injectable()
 * class Reports { constructor(@Inject(VMPRO_AUTH) private readonly auth: VmproAuth) {} }
 * ```
 */
export const VMPRO_AUTH: unique symbol = Symbol.for('vmpro-connect.nestjs.auth');
const VMPRO_OPTIONS = Symbol('vmpro-connect.nestjs.options');
const VMPRO_PUBLIC = 'vmpro-connect:public';
const VMPRO_ACCESS = 'vmpro-connect:access';

/** The guard's answer (a redirect, `401` or `403`), carried to the exception filter, which sends it. */
class Refusal extends VmproError {
  readonly response: Response;

  constructor(response: Response) {
    super(
      response.status === 403 ? 'VMPRO_FORBIDDEN' : 'VMPRO_NOT_AUTHENTICATED',
      response.status === 403
        ? 'Signed in without the access this route needs.'
        : 'Not signed in, or the sign-in has ended.',
    );
    this.response = response;
  }
}

/** Options of {@link VmproModule.forRoot}: those of `createVmproAuth`, and where the guard applies. */
export interface VmproModuleOptions extends VmproAuthOptions {
  /**
   * `true`: {@link VmproGuard} protects every route of the app (mark exceptions with
   * {@link VmproPublic}). Default `false`: protect routes with `@UseGuards(VmproGuard)`.
   */
  globalGuard?: boolean | undefined;
}

/** Options of {@link VmproModule.forRootAsync}: the configuration comes from a factory with injected dependencies. */
export interface VmproModuleAsyncOptions {
  /** Modules whose providers the factory injects (`ConfigModule`…). */
  imports?: ModuleMetadata['imports'] | undefined;
  /** What the factory gets, in order (`[ConfigService]`). */
  inject?: FactoryProvider['inject'] | undefined;
  /** Returns the options of `createVmproAuth`. */
  useFactory: (...args: never[]) => VmproAuthOptions | Promise<VmproAuthOptions>;
  /** As {@link VmproModuleOptions.globalGuard}; here because guards are wired before the factory runs. */
  globalGuard?: boolean | undefined;
}

type NodeRequest = IncomingMessage & { originalUrl?: string; vmpro?: VmproContext };

function fullUrl(auth: VmproAuth, req: NodeRequest): string {
  return auth.options.appOrigin + (req.originalUrl ?? req.url ?? '/');
}

/** The request's context: the one the middleware set, else a new one (cookie changes go on `res`). */
function contextOf(auth: VmproAuth, req: NodeRequest, res: ServerResponse): VmproContext {
  req.vmpro ??= auth.context(
    nodeRequestLike(fullUrl(auth, req), req.method ?? 'GET', req.headers),
    (cookie) => {
      if (res.headersSent) return;
      appendSetCookie(res, [cookie]);
      res.setHeader('cache-control', 'no-store');
    },
  );
  return req.vmpro;
}

function httpRequest(context: ExecutionContext): NodeRequest {
  const req = context.switchToHttp().getRequest<NodeRequest & { raw?: unknown }>();
  // Fastify's request wraps the Node one in `raw`; Express's request is the Node one.
  if (typeof req.raw === 'object' && req.raw !== null && req.raw !== req) {
    throw configError(
      'platform',
      'vmpro-connect/nestjs supports the Express platform (@nestjs/platform-express) only',
      'use NestFactory.create(AppModule) with @nestjs/platform-express, or vmpro-connect/fastify on a plain Fastify app',
    );
  }
  return req;
}

/**
 * Lets a request through only with a session; without one, a page request is redirected to
 * login (keeping its path) and an API call gets `401` JSON; with {@link VmproAccess} on the route
 * or controller, a signed-in user without that role or claim gets `403`. Per route with
 * `@UseGuards(VmproGuard)`, or for the whole app with `globalGuard: true`.
 *
 * @example
 * ```ts
 * @Get('videos') @UseGuards(VmproGuard)
 * videos(@VmproApi() api: VmproApiClient) { return api.vms.list(); }
 * ```
 */
export class VmproGuard implements CanActivate {
  readonly #auth: VmproAuth;
  readonly #reflector: Reflector;
  readonly #open: GuardFunction;
  /** One guard function per rule (the rule objects come from decorators, made once). */
  readonly #byRule = new WeakMap<AccessRule, GuardFunction>();

  constructor(auth: VmproAuth, reflector: Reflector) {
    this.#auth = auth;
    this.#reflector = reflector;
    this.#open = auth.guard();
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.#reflector.getAllAndOverride<boolean>(VMPRO_PUBLIC, targets)) return true;
    const rule = this.#reflector.getAllAndOverride<AccessRule | undefined>(VMPRO_ACCESS, targets);
    let guard = this.#open;
    if (rule) {
      guard = this.#byRule.get(rule) ?? this.#auth.guard(rule);
      this.#byRule.set(rule, guard);
    }
    const req = httpRequest(context);
    const res = context.switchToHttp().getResponse<ServerResponse>();
    const light = nodeRequestLike(fullUrl(this.#auth, req), req.method ?? 'GET', req.headers);
    const refusal = await guard(contextOf(this.#auth, req, res), light);
    if (refusal === null) return true;
    // A guard cannot answer by itself; the module's exception filter sends this answer.
    throw new Refusal(refusal);
  }
}
Injectable()(VmproGuard);
Inject(VMPRO_AUTH)(VmproGuard, undefined, 0);
Inject(Reflector)(VmproGuard, undefined, 1);

/**
 * What a route or controller behind {@link VmproGuard} requires besides a session: a role, or
 * claims (the same rule as every adapter's `requireLogin(rule)`); without it, `403`.
 *
 * @example
 * ```ts
 * @Get('admin') @UseGuards(VmproGuard) @VmproAccess({ role: 'portal-admin' })
 * admin() { return 'hello, admin'; }
 * ```
 */
export function VmproAccess(rule: AccessRule): MethodDecorator & ClassDecorator {
  if (typeof rule !== 'object' || rule === null) {
    throw configError('rule', 'of @VmproAccess(rule) must be an object like { role: "portal-admin" }');
  }
  return SetMetadata(VMPRO_ACCESS, rule);
}

/**
 * Marks a controller or route as open to everyone when the guard is global (`globalGuard: true`).
 *
 * @example
 * ```ts
 * @Get('healthz') @VmproPublic()
 * health() { return 'ok'; }
 * ```
 */
export function VmproPublic(): MethodDecorator & ClassDecorator {
  return SetMetadata(VMPRO_PUBLIC, true);
}

/**
 * Maps vmpro-connect errors (`VmproError`, including `VmproApiError`) thrown by controllers,
 * guards and services to the status and message a user should see: the API's own 404 stays a
 * 404, an ended login is a redirect to login or `401`, an upstream outage `502`/`503`/`504`.
 * Other exceptions are left to Nest. {@link VmproModule} registers it for the whole app.
 *
 * @example
 * ```ts
 * // Registered by VmproModule; to use it without the module:
 * app.useGlobalFilters(new VmproExceptionFilter(auth));
 * ```
 */
export class VmproExceptionFilter implements ExceptionFilter<VmproError> {
  readonly #auth: VmproAuth;

  constructor(auth: VmproAuth) {
    this.#auth = auth;
  }

  catch(error: VmproError, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const http = host.switchToHttp();
    const req = http.getRequest<NodeRequest>();
    const res = http.getResponse<ServerResponse>();
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const light = nodeRequestLike(fullUrl(this.#auth, req), req.method ?? 'GET', req.headers);
    const response =
      error instanceof Refusal
        ? error.response
        : error.code === 'VMPRO_NOT_AUTHENTICATED'
          ? this.#auth.unauthenticated(light)
          : this.#auth.errorResponse(light, error);
    sendWebResponse(res, response).catch(() => res.destroy());
  }
}
Catch(VmproError)(VmproExceptionFilter);
Injectable()(VmproExceptionFilter);
Inject(VMPRO_AUTH)(VmproExceptionFilter, undefined, 0);

/** Answers the auth routes and sets `req.vmpro` on every request (the Express adapter's router). */
class VmproMiddleware {
  readonly #router: (req: unknown, res: unknown, next: (error?: unknown) => void) => unknown;

  constructor(auth: VmproAuth) {
    this.#router = vmproExpress(auth).router() as unknown as VmproMiddleware['use'];
  }

  use(req: unknown, res: unknown, next: (error?: unknown) => void): unknown {
    return this.#router(req, res, next);
  }
}
Injectable()(VmproMiddleware);
Inject(VMPRO_AUTH)(VmproMiddleware, undefined, 0);

function vmproOf(context: ExecutionContext): VmproContext {
  const req = httpRequest(context);
  if (!req.vmpro) {
    throw configError(
      'VmproModule',
      'did not run for this route, so there is no vmpro context',
      'import VmproModule.forRoot(...) or forRootAsync(...) in the root module, and do not exclude this route from middleware',
    );
  }
  return req.vmpro;
}

/**
 * Parameter decorator: the logged-in user (`SessionUser`), or `null` without a session. Use it
 * behind {@link VmproGuard} to always get a user.
 *
 * @example
 * ```ts
 * @Get('me') @UseGuards(VmproGuard)
 * me(@VmproUser() user: SessionUser) { return { name: user.name }; }
 * ```
 */
export const VmproUser: () => ParameterDecorator = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Promise<SessionUser | null> => vmproOf(context).user(),
);

/**
 * Parameter decorator: the VideoManager Pro API client as the logged-in user (tokens refreshed
 * as needed).
 *
 * @example
 * ```ts
 * @Get('vms') @UseGuards(VmproGuard)
 * vms(@VmproApi() api: VmproApiClient) { return api.vms.list(); }
 * ```
 */
export const VmproApi: () => ParameterDecorator = createParamDecorator(
  (_data: unknown, context: ExecutionContext): VmproApiClient => vmproOf(context).api,
);

/**
 * Parameter decorator: the whole per-request context (`session()`, `tokens()`, `fetch()`, `api`).
 *
 * @example
 * ```ts
 * @Get('token-expiry') @UseGuards(VmproGuard)
 * async expiry(@Vmpro() vmpro: VmproContext) { return (await vmpro.tokens()).expiresAt; }
 * ```
 */
export const Vmpro: () => ParameterDecorator = createParamDecorator(
  (_data: unknown, context: ExecutionContext): VmproContext => vmproOf(context),
);

function providers(options: Provider, globalGuard: boolean | undefined): Provider[] {
  return [
    options,
    {
      provide: VMPRO_AUTH,
      useFactory: (resolved: VmproAuthOptions) => createVmproAuth(resolved),
      inject: [VMPRO_OPTIONS],
    },
    VmproGuard,
    VmproMiddleware,
    { provide: APP_FILTER, useClass: VmproExceptionFilter },
    ...(globalGuard ? [{ provide: APP_GUARD, useExisting: VmproGuard }] : []),
  ];
}

function withoutModuleOptions(options: VmproModuleOptions): VmproAuthOptions {
  const { globalGuard: _globalGuard, ...rest } = options;
  return rest;
}

/**
 * The module: import it once, in the root module. It serves the auth routes (full paths, as
 * configured: with a global prefix `portal`, configure `/portal/auth/login`… and a redirect URI
 * under `/portal`), sets `req.vmpro` on every request, registers {@link VmproExceptionFilter}
 * for the app, and provides {@link VmproGuard} and {@link VMPRO_AUTH} everywhere (it is global).
 *
 * @example
 * ```ts
 * VmproModule.forRootAsync({
 *   imports: [ConfigModule],
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({
 *     clientId: config.getOrThrow('VMPRO_CLIENT_ID'),
 *     clientSecret: config.get('VMPRO_CLIENT_SECRET'),
 *     redirectUri: config.getOrThrow('VMPRO_REDIRECT_URI'),
 *     session: { secrets: config.getOrThrow('VMPRO_SESSION_SECRET') },
 *   }),
 * })
 * ```
 */
export class VmproModule implements NestModule, OnModuleDestroy {
  readonly #auth: VmproAuth;

  constructor(auth: VmproAuth) {
    this.#auth = auth;
  }

  /** The module with options known up front. */
  static forRoot(options: VmproModuleOptions): DynamicModule {
    const authOptions = withoutModuleOptions(options);
    return {
      module: VmproModule,
      global: true,
      providers: providers({ provide: VMPRO_OPTIONS, useValue: authOptions }, options.globalGuard),
      exports: [VMPRO_AUTH, VmproGuard],
    };
  }

  /** The module with options from a factory (`ConfigService`, a secret store…). */
  static forRootAsync(options: VmproModuleAsyncOptions): DynamicModule {
    if (typeof options?.useFactory !== 'function') {
      throw configError('useFactory', 'of VmproModule.forRootAsync must be a function returning the options');
    }
    return {
      module: VmproModule,
      global: true,
      imports: options.imports ?? [],
      providers: providers(
        {
          provide: VMPRO_OPTIONS,
          useFactory: options.useFactory as (...args: unknown[]) => unknown,
          inject: options.inject ?? [],
        },
        options.globalGuard,
      ),
      exports: [VMPRO_AUTH, VmproGuard],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    // Every path, the root included; Nest puts its global prefix in front.
    consumer.apply(VmproMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }

  async onModuleDestroy(): Promise<void> {
    await this.#auth.close();
  }
}
Module({})(VmproModule);
Inject(VMPRO_AUTH)(VmproModule, undefined, 0);
