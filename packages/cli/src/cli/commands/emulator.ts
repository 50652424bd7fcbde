/** `vmpro emulator`: runs the local VideoManager Pro emulator (login server + API) until Ctrl-C. */
import { DEFAULT_CLIENTS, DEMO_USERS, type EmulatorClient, startEmulator } from 'vmpro-connect/emulator';
import { type CliContext, say, untilAborted } from '../context.js';
import { guard, UsageError } from '../errors.js';

export interface EmulatorCommandOptions {
  /** Default 4000. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Seconds; default 300. */
  accessTokenLifetime?: number;
  /** Seconds; default 3600. */
  refreshTokenLifetime?: number;
  /** Refresh tokens work once (Keycloak's "Revoke Refresh Token"). */
  strictRefreshTokens?: boolean;
  /** Extra clients as `id:secret:redirectUri` (empty secret: a public client). */
  client?: string[];
}

/**
 * Parses `id:secret:redirectUri` (the redirect URI may contain colons; an empty secret makes a
 * public client, e.g. `my-cli::http://127.0.0.1:8765/callback`).
 */
export function parseClientSpec(spec: string): EmulatorClient {
  const first = spec.indexOf(':');
  const second = first < 0 ? -1 : spec.indexOf(':', first + 1);
  const clientId = first < 0 ? '' : spec.slice(0, first);
  const secret = second < 0 ? '' : spec.slice(first + 1, second);
  const redirectUri = second < 0 ? '' : spec.slice(second + 1);
  if (!clientId || !URL.canParse(redirectUri)) {
    throw new UsageError(
      `--client "${spec.replace(/:[^:]*:/, ':…:')}" must be id:secret:redirectUri, e.g. my-app:my-secret:http://localhost:3000/auth/callback (empty secret for a public client)`,
      'emulator',
    );
  }
  const origin = new URL(redirectUri).origin;
  return {
    clientId,
    redirectUris: [redirectUri],
    postLogoutRedirectUris: [`${origin}/`],
    ...(secret ? { clientSecret: secret } : { publicClient: true }),
  };
}

/**
 * Starts the emulator, prints how to use it, and stops when `ctx.signal` aborts. Returns the
 * exit code.
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * const done = emulator({ port: 0 }, { env: {}, stdout, stderr, signal: stop.signal });
 * ```
 */
export function emulator(options: EmulatorCommandOptions, ctx: CliContext): Promise<number> {
  return guard(ctx, async () => {
    const extra = (options.client ?? []).map(parseClientSpec);
    const running = await startEmulator({
      port: options.port ?? 4000,
      host: options.host ?? '127.0.0.1',
      ...(options.accessTokenLifetime !== undefined && { accessTokenLifetime: options.accessTokenLifetime }),
      ...(options.refreshTokenLifetime !== undefined && {
        refreshTokenLifetime: options.refreshTokenLifetime,
      }),
      ...(options.strictRefreshTokens && { strictRefreshTokenReuse: true }),
      clients: [...DEFAULT_CLIENTS.map((c) => ({ ...c })), ...extra],
    });
    const demo = DEFAULT_CLIENTS.find((c) => c.clientId === 'vmpro-demo');
    const lines = [
      `VideoManager Pro emulator: ${running.url}`,
      `  issuer:    ${running.issuer}`,
      `  API base:  ${running.apiBase}  (WebFinger discovery starts here)`,
      `  users:     ${DEMO_USERS.map((u) => `${u.username}/${u.password}`).join(', ')}  (novms has no VideoManagers)`,
    ];
    if (demo) {
      lines.push(
        `  client:    ${demo.clientId} / ${demo.clientSecret}, redirect URIs ${demo.redirectUris.join(', ')}`,
      );
    }
    lines.push('  client:    anonymous (public; password grant)');
    for (const c of extra) {
      lines.push(
        `  client:    ${c.clientId} (${c.publicClient ? 'public' : 'confidential, with the secret you gave'}), redirect URI ${c.redirectUris[0]}`,
      );
    }
    lines.push(
      '',
      'Run the demo app against it:',
      `  VMPRO_API_BASE=${running.apiBase} VMPRO_CLIENT_ID=vmpro-demo VMPRO_CLIENT_SECRET=${demo?.clientSecret ?? '…'} npm start`,
      'Sign in from the terminal:',
      `  VMPRO_API_BASE=${running.apiBase} vmpro login --password --username demo`,
      `  vmpro api GET /v1/vms`,
      'Sign in with the browser (register a loopback client first):',
      `  vmpro emulator --client vmpro-cli::http://127.0.0.1:8765/callback`,
      `  vmpro login --api-base ${running.apiBase} --client-id vmpro-cli --redirect-port 8765`,
      '',
      'Stop with Ctrl-C.',
    );
    say(ctx.stdout, ...lines);
    await untilAborted(ctx.signal);
    await running.close();
    say(ctx.stdout, 'Emulator stopped.');
    return 0;
  });
}
