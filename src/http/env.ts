import { randomBytes } from 'node:crypto';
import { VmproError } from '../errors.js';
import { checkUrl, parseSecrets } from './config.js';

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

function envFail(variable: string, message: string): never {
  throw new VmproError('VMPRO_CONFIG_INVALID', `${variable} ${message}`);
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

  const wrap = <T>(variable: string, f: () => T): T => {
    try {
      return f();
    } catch (error) {
      if (error instanceof VmproError)
        envFail(variable, error.message.replace(/^vmpro-connect configuration: `[^`]+` /, ''));
      throw error;
    }
  };
  const url = (variable: string) => {
    const v = env[variable]?.trim();
    return v ? wrap(variable, () => checkUrl(variable, v)).href : undefined;
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
      'is set but VMPRO_CLIENT_ID is not: set both, or neither to use the emulator',
    );

  let secrets: string[];
  let generatedSecret = false;
  const secretText = env.VMPRO_SESSION_SECRET?.trim();
  if (secretText) {
    secrets = wrap('VMPRO_SESSION_SECRET', () => parseSecrets(secretText, 'VMPRO_SESSION_SECRET'));
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
