/**
 * `vmpro login`: signs in with the authorization code flow (a loopback redirect, RFC 8252) or,
 * with `--password`, movingimage's "anonymous" password grant, and stores the login.
 */

import { DEFAULT_API_BASE, type OidcClient, type TokenSet } from 'vmpro-connect';
import { isLoopbackHost } from '../../url.js';
import { type CliContext, clock, openInBrowser, say } from '../context.js';
import { credentialsPath, type StoredLogin, writeCredentials } from '../credentials.js';
import { CliFailure, describeError, guard, UsageError } from '../errors.js';
import { expiry, who } from '../format.js';
import { startLoopback } from '../loopback.js';
import { clientFor } from '../session.js';

export interface LoginOptions {
  /** Default `VMPRO_API_BASE`, else https://api.video-cdn.net. */
  apiBase?: string;
  /** Default `VMPRO_ISSUER`; skips WebFinger. */
  issuer?: string;
  /** Default `VMPRO_CLIENT_ID` (code flow) or `anonymous` (`--password`). */
  clientId?: string;
  /** Default `VMPRO_CLIENT_SECRET` (code flow only). Stored in the credentials file. */
  clientSecret?: string;
  /** Port of the loopback callback; 0 (default) picks a free one. */
  redirectPort?: number;
  /** The exact loopback redirect URI to use instead of `http://127.0.0.1:PORT/callback`. */
  redirectUri?: string;
  /** Seconds to wait for the browser to come back; default 300. */
  timeout?: number;
  /** Try to open the browser. */
  open?: boolean;
  /** Use the password grant instead of the browser. */
  password?: boolean;
  /** User name for `--password` (else asked). */
  username?: string;
}

const env = (ctx: CliContext, name: string) => ctx.env[name]?.trim() || undefined;

function checkRedirectUri(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--redirect-uri "${value}" is not an absolute URL`, 'login');
  }
  if (url.protocol !== 'http:' || !isLoopbackHost(url.hostname) || url.hash || url.search) {
    throw new UsageError(
      '--redirect-uri must be a loopback http:// URL without query or fragment, such as http://127.0.0.1:8765/callback (this command receives the callback itself)',
      'login',
    );
  }
}

async function store(
  ctx: CliContext,
  client: OidcClient,
  apiBase: string,
  grant: StoredLogin['grant'],
  tokens: TokenSet,
  clientSecret: string | undefined,
): Promise<number> {
  const path = credentialsPath(ctx.env);
  const now = clock(ctx);
  await writeCredentials(path, {
    version: 1,
    apiBase: new URL(apiBase).origin,
    issuer: client.issuer,
    clientId: client.clientId,
    ...(clientSecret !== undefined && { clientSecret }),
    grant,
    tokens,
    savedAt: new Date(now).toISOString(),
  });
  say(
    ctx.stdout,
    `Signed in as ${who(tokens.claims)} at ${client.issuer}.`,
    `Access token valid until ${expiry(tokens.accessTokenExpiresAt, now)}; vmpro refreshes it when needed.`,
    `The login lasts until ${expiry(tokens.refreshTokenExpiresAt, now)} unless it is used and renewed.`,
    `Saved to ${path}${clientSecret !== undefined ? ' (with the client secret)' : ''}.`,
  );
  return 0;
}

async function passwordLogin(options: LoginOptions, ctx: CliContext, apiBase: string, issuer?: string) {
  const clientId = options.clientId ?? 'anonymous';
  const clientSecret = options.clientSecret;
  const client = await clientFor({ apiBase, issuer, clientId, clientSecret }, ctx);
  let username = options.username?.trim();
  if (!username) {
    if (!ctx.prompt) throw new UsageError('no terminal to ask for the user name: pass --username', 'login');
    username = (await ctx.prompt.question('VideoManager Pro user name: ')).trim();
  }
  let password = ctx.env.VMPRO_PASSWORD;
  if (!password) {
    if (!ctx.prompt) {
      throw new UsageError(
        'no terminal to ask for the password: set the VMPRO_PASSWORD environment variable',
        'login',
      );
    }
    password = await ctx.prompt.question('Password (not shown): ', { secret: true });
  }
  if (!username || !password)
    throw new UsageError('the user name and the password must not be empty', 'login');
  const tokens = await client.passwordGrant(username, password, { signal: ctx.signal });
  return store(ctx, client, apiBase, 'password', tokens, clientSecret);
}

function timeoutAfter(
  seconds: number,
  signal: AbortSignal | undefined,
): { promise: Promise<never>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new CliFailure(
            `No sign-in came back within ${seconds} s.`,
            'Open the URL above in a browser on this machine and sign in, or wait longer with --timeout <seconds>.',
            'If the login server showed an error about the redirect URI, it does not know this callback URL: see `vmpro login --help`.',
          ),
        ),
      seconds * 1000,
    );
    onAbort = () => reject(new CliFailure('Sign-in cancelled.'));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  promise.catch(() => {});
  return {
    promise,
    cancel() {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    },
  };
}

async function codeFlowLogin(options: LoginOptions, ctx: CliContext, apiBase: string, issuer?: string) {
  const clientId = options.clientId ?? env(ctx, 'VMPRO_CLIENT_ID');
  if (!clientId) {
    throw new UsageError(
      'the browser sign-in needs a client id: pass --client-id or set VMPRO_CLIENT_ID (movingimage registers it with its redirect URI), or use --password for the "anonymous" password login',
      'login',
    );
  }
  const clientSecret = options.clientSecret ?? env(ctx, 'VMPRO_CLIENT_SECRET');
  if (options.redirectUri !== undefined) checkRedirectUri(options.redirectUri);
  const timeout = options.timeout ?? 300;

  const loopback = await startLoopback({
    ...(options.redirectUri !== undefined && { redirectUri: options.redirectUri }),
    port: options.redirectPort ?? 0,
  });
  try {
    const client = await clientFor(
      {
        apiBase,
        issuer,
        clientId,
        clientSecret,
        redirectUri: loopback.redirectUri,
      },
      ctx,
    );
    const { url, transaction } = await client.createAuthorizationRequest();
    say(
      ctx.stdout,
      'Open this URL in your browser to sign in:',
      '',
      `  ${url.href}`,
      '',
      `Waiting for the login server to send the browser back to ${loopback.redirectUri}`,
      `(client "${clientId}" must have this exact redirect URI registered; stop with Ctrl-C).`,
    );
    if (options.open) {
      await (ctx.openUrl ?? openInBrowser)(url.href).catch((error: unknown) =>
        say(ctx.stderr, `Could not open a browser (${(error as Error).message}); open the URL yourself.`),
      );
    }

    const wait = timeoutAfter(timeout, ctx.signal);
    const received = await Promise.race([loopback.callback, wait.promise]).finally(() => wait.cancel());
    let tokens: TokenSet;
    try {
      const validated = await client.validateCallback(received.url, transaction);
      tokens = await client.exchangeCode(validated, { signal: ctx.signal });
    } catch (error) {
      await received.respond({ ok: false, lines: describeError(error) });
      throw error;
    }
    await received.respond({ ok: true });
    return store(ctx, client, apiBase, 'authorization_code', tokens, clientSecret);
  } finally {
    await loopback.close();
  }
}

/**
 * Signs in and writes the credentials file. Returns the exit code.
 *
 * @example
 * ```ts
 * await login({ password: true, username: 'demo' }, { env: { VMPRO_PASSWORD: 'demo' }, stdout, stderr });
 * ```
 */
export function login(options: LoginOptions, ctx: CliContext): Promise<number> {
  return guard(ctx, async () => {
    const apiBase = options.apiBase ?? env(ctx, 'VMPRO_API_BASE') ?? DEFAULT_API_BASE;
    const issuer = options.issuer ?? env(ctx, 'VMPRO_ISSUER');
    if (options.timeout !== undefined && !(options.timeout > 0)) {
      throw new UsageError('--timeout must be a positive number of seconds', 'login');
    }
    return options.password
      ? passwordLogin(options, ctx, apiBase, issuer)
      : codeFlowLogin(options, ctx, apiBase, issuer);
  });
}
