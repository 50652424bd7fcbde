/**
 * The stored login at work: loads the credentials file, rebuilds the protocol client from it, and
 * hands out a valid access token, refreshing (once, under a file lock) when it has less than 30 s
 * left.
 */

import type { TokenSource } from 'vmpro-connect';
import { createOidcClient, isVmproError, type OidcClient, type TokenSet } from 'vmpro-connect';
import { type CliContext, clock } from './context.js';
import {
  credentialsPath,
  readCredentials,
  type StoredLogin,
  withCredentialsLock,
  writeCredentials,
} from './credentials.js';
import { loginEnded, notSignedIn } from './errors.js';

/** A token with less than this left is refreshed before use. */
export const REFRESH_MARGIN_MS = 30_000;

/** A valid access token and when it expires. */
export interface ValidToken {
  accessToken: string;
  /** Epoch ms; `null` when the server did not say. */
  expiresAt: number | null;
  /** True when this call refreshed the login. */
  refreshed: boolean;
}

/** Where a protocol client goes and who it is (a {@link StoredLogin} fits). */
export interface ClientSettings {
  apiBase: string;
  /** When known, WebFinger is skipped. */
  issuer?: string | undefined;
  clientId: string;
  clientSecret?: string | undefined;
  redirectUri?: string | undefined;
}

/** The protocol client for these settings, using the context's `fetch`. */
export function clientFor(settings: ClientSettings, ctx: CliContext): Promise<OidcClient> {
  return createOidcClient({
    apiBase: settings.apiBase,
    clientId: settings.clientId,
    ...(settings.issuer !== undefined && { issuer: settings.issuer }),
    ...(settings.clientSecret !== undefined && { clientSecret: settings.clientSecret }),
    ...(settings.redirectUri !== undefined && { redirectUri: settings.redirectUri }),
    ...(ctx.fetch !== undefined && { fetch: ctx.fetch }),
  });
}

/** True when the access token is good for at least {@link REFRESH_MARGIN_MS}. */
export function isFresh(tokens: TokenSet, now: number): boolean {
  return tokens.accessTokenExpiresAt === null || tokens.accessTokenExpiresAt - now >= REFRESH_MARGIN_MS;
}

/**
 * True when the login is known to have ended: the login server refused its refresh (recorded in
 * `endedAt`), or the refresh token has expired (or there is none).
 */
export function loginHasEnded(login: Pick<StoredLogin, 'tokens' | 'endedAt'>, now: number): boolean {
  const { tokens } = login;
  return (
    login.endedAt !== undefined ||
    tokens.refreshToken === null ||
    (tokens.refreshTokenExpiresAt !== null && tokens.refreshTokenExpiresAt <= now)
  );
}

/** The login in the credentials file, with refresh. */
export class CliSession {
  private client: OidcClient | undefined;
  private refreshedOnce = false;

  private constructor(
    readonly path: string,
    public login: StoredLogin,
    private readonly ctx: CliContext,
  ) {}

  /** Loads the credentials file; fails with "run `vmpro login` first" when there is none. */
  static async load(ctx: CliContext): Promise<CliSession> {
    const path = credentialsPath(ctx.env);
    const login = await readCredentials(path);
    if (!login) throw notSignedIn(path);
    return new CliSession(path, login, ctx);
  }

  /** The protocol client, discovered once per run. */
  async oidc(): Promise<OidcClient> {
    this.client ??= await clientFor(this.login, this.ctx);
    return this.client;
  }

  /**
   * A valid access token: the stored one while it has 30 s or more left, else a refreshed one
   * (the credentials file is rewritten). `forceRefresh` refreshes even a fresh-looking token,
   * unless this run already refreshed it. Fails with {@link loginEnded} when the refresh token
   * is gone or refused; a refusal is recorded in the credentials file (`endedAt`), so that later
   * commands (`whoami` too) know without asking the login server again.
   */
  async validToken(options: { forceRefresh?: boolean } = {}): Promise<ValidToken> {
    const now = clock(this.ctx);
    const force = options.forceRefresh === true && !this.refreshedOnce;
    // Ended at the login server: its access tokens are most likely revoked too.
    if (this.login.endedAt !== undefined) throw loginEnded();
    if (!force && isFresh(this.login.tokens, now)) return this.current(false);
    if (loginHasEnded(this.login, now)) throw loginEnded();

    const before = this.login.tokens.accessToken;
    return withCredentialsLock(this.path, async () => {
      // Another vmpro may have refreshed while this one waited for the lock: use its result.
      const latest = await readCredentials(this.path);
      if (!latest) throw notSignedIn(this.path);
      this.login = latest;
      const at = clock(this.ctx);
      // Another process has just refreshed: its token is as fresh as this one could get (even when
      // the server's lifetime is shorter than the margin), so use it while it is valid at all.
      const { accessToken, accessTokenExpiresAt } = latest.tokens;
      if (accessToken !== before && (accessTokenExpiresAt === null || accessTokenExpiresAt > at)) {
        return this.current(false);
      }
      if (loginHasEnded(latest, at)) throw loginEnded();

      let tokens: TokenSet;
      try {
        tokens = await (await this.oidc()).refresh(latest.tokens, { signal: this.ctx.signal });
      } catch (error) {
        if (!isVmproError(error, 'VMPRO_REFRESH_EXPIRED')) throw error;
        this.login = { ...latest, endedAt: new Date(clock(this.ctx)).toISOString() };
        await writeCredentials(this.path, this.login);
        throw loginEnded();
      }
      this.login = { ...latest, tokens, savedAt: new Date(clock(this.ctx)).toISOString() };
      await writeCredentials(this.path, this.login);
      this.refreshedOnce = true;
      return this.current(true);
    });
  }

  /** A token source for the API client, backed by this session. */
  tokenSource(): TokenSource {
    return {
      getAccessToken: async (options = {}) =>
        (await this.validToken({ forceRefresh: options.forceRefresh === true })).accessToken,
    };
  }

  private current(refreshed: boolean): ValidToken {
    const { accessToken, accessTokenExpiresAt } = this.login.tokens;
    return { accessToken, expiresAt: accessTokenExpiresAt, refreshed };
  }
}
