/**
 * The demo's configuration from the environment (the README's table): every value checked, and
 * every error naming its variable. The checks mirror the library's (`createVmproAuth` checks the
 * same values again, and stays the authority); they are repeated here so that a message names
 * `VMPRO_API_BASE`, not the option `apiBase` it becomes.
 */
import { randomBytes } from 'node:crypto';
import { VmproError } from 'vmpro-connect';
import { isLoopbackHost } from '../url.js';

/** What {@link authOptionsFromEnv} read from the environment. */
export interface AuthEnvResult {
  port: number;
  /** `undefined` when `VMPRO_CLIENT_ID` is unset (the demo then starts the embedded emulator). */
  clientId: string | undefined;
  clientSecret: string | undefined;
  apiBase: string | undefined;
  issuer: string | undefined;
  redirectUri: string;
  postLogoutRedirectUri: string | undefined;
  secrets: string[];
  /** True when no `VMPRO_SESSION_SECRET` was set and a random one was made for this start. */
  generatedSecret: boolean;
  store: { kind: 'memory' } | { kind: 'cookie' } | { kind: 'redis'; url: string };
  /** Human-readable warnings to print at start-up. */
  warnings: string[];
}

/** A `VMPRO_CONFIG_INVALID` error with `field` = the variable, in the library's message style. */
function envFail(variable: string, problem: string, fix?: string): never {
  throw new VmproError('VMPRO_CONFIG_INVALID', `vmpro: \`${variable}\` ${problem}${fix ? `: ${fix}` : ''}.`, {
    field: variable,
  });
}

/** An absolute `https://` URL, or `http://` to a loopback host. */
function checkUrl(variable: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return envFail(variable, `is not an absolute URL (got ${JSON.stringify(value)})`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return url;
  if (url.protocol === 'http:') {
    envFail(
      variable,
      `must use https:// (plain http:// is accepted only for loopback hosts: 127.0.0.0/8, ::1, localhost; got host ${url.hostname})`,
    );
  }
  return envFail(variable, `must be an http(s) URL (got ${url.protocol})`, 'use https://');
}

/**
 * Splits a comma-separated secret list (the first encrypts, the others still decrypt) and checks
 * that every entry has 32 or more characters.
 */
export function parseSecrets(value: string, variable = 'VMPRO_SESSION_SECRET'): string[] {
  const list = value.split(',').map((s) => s.trim());
  list.forEach((secret, i) => {
    if (secret.length < 32) {
      envFail(
        variable,
        `entry ${i + 1} is shorter than 32 characters`,
        'generate one with `openssl rand -base64 32`',
      );
    }
  });
  return list;
}

/**
 * Reads the demo's environment variables (see the README's table), validates them, and names the
 * variable in every error. Security opt-outs are never read from the environment.
 */
export function authOptionsFromEnv(env: Record<string, string | undefined> = process.env): AuthEnvResult {
  const warnings: string[] = [];
  const portText = env.PORT?.trim() || '3000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    envFail('PORT', `must be a port number (got ${JSON.stringify(portText)})`);

  // checkUrl and parseSecrets are given the variable as their field: their errors name it
  // (`error.field`) and read like every other configuration error, with nothing to rewrite.
  const url = (variable: string) => {
    const v = env[variable]?.trim();
    return v ? checkUrl(variable, v).href : undefined;
  };

  const apiBase = url('VMPRO_API_BASE');
  const issuer = url('VMPRO_ISSUER');
  const redirectUri = url('VMPRO_REDIRECT_URI') ?? `http://localhost:${port}/auth/callback`;
  const postLogoutRedirectUri = url('VMPRO_POST_LOGOUT_REDIRECT_URI');
  const clientId = env.VMPRO_CLIENT_ID?.trim() || undefined;
  const clientSecret = env.VMPRO_CLIENT_SECRET?.trim() || undefined;
  if (clientSecret && !clientId)
    envFail(
      'VMPRO_CLIENT_SECRET',
      'is set but VMPRO_CLIENT_ID is not',
      'set both, or neither to use the emulator',
    );

  let secrets: string[];
  let generatedSecret = false;
  const secretText = env.VMPRO_SESSION_SECRET?.trim();
  if (secretText) {
    secrets = parseSecrets(secretText, 'VMPRO_SESSION_SECRET');
  } else {
    secrets = [randomBytes(32).toString('base64url')];
    generatedSecret = true;
    warnings.push(
      'VMPRO_SESSION_SECRET is not set: using a random secret for this start, so sessions end when the server restarts and several instances cannot share them. Set it to 32+ random characters (openssl rand -base64 32).',
    );
  }

  const storeText = env.VMPRO_SESSION_STORE?.trim() || 'memory';
  let store: AuthEnvResult['store'];
  if (storeText === 'memory') store = { kind: 'memory' };
  else if (storeText === 'cookie') store = { kind: 'cookie' };
  else if (/^rediss?:\/\//.test(storeText)) store = { kind: 'redis', url: storeText };
  else
    envFail(
      'VMPRO_SESSION_STORE',
      `must be memory, cookie, or a redis:// URL (got ${JSON.stringify(storeText)})`,
    );
  if (store.kind === 'redis' && generatedSecret) {
    warnings.push(
      "VMPRO_SESSION_STORE is Redis but VMPRO_SESSION_SECRET is random: other instances cannot read this one's sessions.",
    );
  }
  return {
    port,
    clientId,
    clientSecret,
    apiBase,
    issuer,
    redirectUri,
    postLogoutRedirectUri,
    secrets,
    generatedSecret,
    store,
    warnings,
  };
}
