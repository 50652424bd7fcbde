/**
 * Starts the reference server from environment variables (see the README's table). With no
 * `VMPRO_CLIENT_ID` it starts the embedded emulator in the same process and logs in there.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Logger } from 'vmpro-connect';
import { type RunningEmulator, startEmulator } from 'vmpro-connect/emulator';
import { createVmproAuth, type VmproAuth } from 'vmpro-connect/http';
import {
  cookieStore,
  memoryStore,
  postgresStore,
  redisStore,
  type SessionStore,
} from 'vmpro-connect/session';
import { createDemoApp } from './app.js';
import { authOptionsFromEnv, describeStore } from './env.js';

export interface RunningDemo {
  /** The app's origin, e.g. `http://localhost:3000`. */
  url: string;
  port: number;
  auth: VmproAuth;
  /** The embedded emulator, when no `VMPRO_CLIENT_ID` was set. */
  emulator: RunningEmulator | undefined;
  /** Lines worth printing at start-up (URLs, demo login, warnings). */
  banner: string[];
  close(): Promise<void>;
}

export interface DemoOptions {
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** Options for the embedded emulator (tests: short token lifetimes, strict refresh-token reuse). */
  emulator?: Parameters<typeof startEmulator>[0];
  /** Host to listen on; default 127.0.0.1. */
  host?: string;
}

/** Starts the demo app; resolves once it listens. */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const env = options.env ?? process.env;
  const config = authOptionsFromEnv(env);
  const banner: string[] = [];
  let emulator: RunningEmulator | undefined;
  let store: SessionStore | ReturnType<typeof cookieStore> | undefined;
  let closeStore: (() => Promise<void>) | undefined;

  // Listen first, so that port 0 and the redirect URI agree before anything is registered.
  const host = options.host ?? '127.0.0.1';
  let handler: (request: Request, env: unknown) => Response | Promise<Response> = () =>
    new Response('starting', { status: 503 });
  // `env` carries the Node request on @hono/node-server; the web adapter reads headers from it.
  const server = serve({
    fetch: (request, env) => handler(request, env),
    port: config.port,
    hostname: host,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const redirectUri = env.VMPRO_REDIRECT_URI?.trim()
    ? config.redirectUri
    : `http://localhost:${port}/auth/callback`;
  const appOrigin = new URL(redirectUri).origin;

  try {
    let clientId = config.clientId;
    let clientSecret = config.clientSecret;
    let apiBase = config.apiBase;
    let issuer = config.issuer;
    if (!clientId) {
      emulator = await startEmulator({ port: 0, ...options.emulator });
      clientId = 'vmpro-demo';
      clientSecret = 'vmpro-demo-secret';
      emulator.addClient({
        clientId,
        clientSecret,
        redirectUris: [redirectUri],
        postLogoutRedirectUris: [`${appOrigin}/`],
        backchannelLogoutUri: `http://127.0.0.1:${port}/auth/backchannel-logout`,
      });
      apiBase = emulator.apiBase;
      issuer = undefined; // discover through WebFinger, like production
      banner.push(`Embedded emulator (no VMPRO_CLIENT_ID set): ${emulator.url}`);
      banner.push(
        'Demo login: user "demo", password "demo" (or "novms"/"novms": an account with no VideoManagers)',
      );
    }

    const chosen = config.store;
    if (chosen.kind === 'cookie') store = cookieStore();
    else if (chosen.kind === 'redis') {
      const { Redis } = await import('ioredis');
      const client = new Redis(chosen.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
      const redis = redisStore({ client, logger: options.logger });
      store = redis;
      closeStore = async () => {
        await redis.close?.();
        client.disconnect();
      };
    } else if (chosen.kind === 'redis-cluster') {
      const { Cluster } = await import('ioredis');
      // The seed nodes only: the client learns the rest of the cluster (and every failover) from them.
      const client = new Cluster(chosen.nodes, {
        redisOptions: {
          maxRetriesPerRequest: 1,
          ...(chosen.username === undefined ? {} : { username: chosen.username }),
          ...(chosen.password === undefined ? {} : { password: chosen.password }),
        },
      });
      const redis = redisStore({ client, logger: options.logger });
      store = redis;
      closeStore = async () => {
        await redis.close?.();
        client.disconnect();
      };
    } else if (chosen.kind === 'postgres') {
      const { default: pg } = await import('pg');
      // connectionTimeoutMillis no longer than the store's 2 s command timeout (docs/sessions.md).
      const pool = new pg.Pool({ connectionString: chosen.url, connectionTimeoutMillis: 2000 });
      const postgres = postgresStore({ pool, createTable: true, logger: options.logger });
      store = postgres;
      closeStore = async () => {
        await postgres.close?.();
        await pool.end();
      };
    } else store = memoryStore();

    const auth = createVmproAuth({
      clientId,
      clientSecret,
      apiBase,
      issuer,
      redirectUri,
      postLogoutRedirectUri: config.postLogoutRedirectUri,
      session: { secrets: config.secrets, store },
      logger: options.logger,
    });
    const app = createDemoApp(auth);
    handler = (request, env) => app.fetch(request, env as Record<string, unknown>);
    banner.unshift(`VideoManager Pro demo: ${appOrigin}/`);
    banner.push(`Session store: ${describeStore(config.store)}`);
    banner.push(...config.warnings.map((w) => `Warning: ${w}`));

    return {
      url: appOrigin,
      port,
      auth,
      emulator,
      banner,
      async close() {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
        await auth.close();
        await closeStore?.();
        await emulator?.close();
      },
    };
  } catch (error) {
    server.close();
    await closeStore?.().catch(() => undefined);
    await emulator?.close();
    throw error;
  }
}
