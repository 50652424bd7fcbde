/**
 * Minting of the realm's tokens in Keycloak's shapes: RS256 access and ID tokens, HS256
 * refresh tokens (`typ: Refresh`), and back-channel logout tokens (`typ: logout+jwt`).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { KeyRing } from './keys.js';
import type { ClientSession, IssuedToken, SsoSession } from './state.js';

/** The realm roles every emulated user has (Keycloak's defaults for a new realm). */
export const REALM_ROLES = ['default-roles-platform', 'offline_access', 'uma_authorization'];

/** The `events` member that marks a back-channel logout token. */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** What minting needs to know about the realm. */
export interface TokenContext {
  issuer: string;
  keys: KeyRing;
  /** Emulator clock, epoch ms. */
  now(): number;
  /** Seconds. */
  accessTokenLifetime: number;
  /** Seconds. */
  refreshTokenLifetime: number;
  tokenType: 'Bearer' | 'bearer';
  /** Remembers a token by `jti` so it can be revoked and checked later. */
  remember(jti: string, token: IssuedToken): void;
}

/** Keycloak's `at_hash`: the left half of the SHA-256 of the access token, base64url. */
export function atHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest().subarray(0, 16).toString('base64url');
}

/** The scope Keycloak grants for a requested scope: the realm's default scopes, plus `openid` when asked. */
export function grantedScope(requested: string | null | undefined): string {
  const wantsOpenId = (requested ?? '').split(/\s+/).includes('openid');
  return wantsOpenId ? 'openid profile email' : 'profile email';
}

function profileClaims(session: SsoSession): Record<string, unknown> {
  const u = session.user;
  return {
    name: u.name,
    preferred_username: u.username,
    ...(u.given_name !== undefined ? { given_name: u.given_name } : {}),
    ...(u.family_name !== undefined ? { family_name: u.family_name } : {}),
    email: u.email,
    email_verified: true,
  };
}

/**
 * Issues access, refresh and (when the scope has `openid`) ID token for a client session and
 * returns the token endpoint's answer, exactly in Keycloak's shape.
 */
export async function mintTokenResponse(
  ctx: TokenContext,
  clientSession: ClientSession,
  scope: string,
  /**
   * The `nonce` of the authorization request these tokens answer (a code carries its own, so two
   * tabs signing in at once in one SSO session each get theirs); refreshes repeat the refresh
   * token's.
   */
  nonce: string | undefined = clientSession.nonce,
): Promise<Record<string, unknown>> {
  const session = clientSession.session;
  const iat = Math.floor(ctx.now() / 1000);
  const common = {
    iss: ctx.issuer,
    sub: session.user.sub,
    azp: clientSession.clientId,
    session_state: session.id,
    sid: session.id,
    iat,
  };

  const accessJti = randomUUID();
  const accessToken = await ctx.keys.signRs256({
    exp: iat + ctx.accessTokenLifetime,
    iat,
    auth_time: session.authTime,
    jti: accessJti,
    iss: ctx.issuer,
    aud: 'account',
    sub: session.user.sub,
    typ: 'Bearer',
    azp: clientSession.clientId,
    session_state: session.id,
    acr: '1',
    realm_access: { roles: [...REALM_ROLES] },
    resource_access: { account: { roles: ['manage-account', 'manage-account-links', 'view-profile'] } },
    scope,
    sid: session.id,
    ...profileClaims(session),
  });
  ctx.remember(accessJti, {
    kind: 'access',
    clientSession,
    revoked: false,
    uses: 0,
    expiresAt: (iat + ctx.accessTokenLifetime) * 1000,
  });

  const refreshJti = randomUUID();
  const refreshToken = await ctx.keys.signHs256({
    ...common,
    exp: iat + ctx.refreshTokenLifetime,
    jti: refreshJti,
    aud: ctx.issuer,
    typ: 'Refresh',
    scope,
    ...(nonce !== undefined ? { nonce } : {}),
  });
  ctx.remember(refreshJti, {
    kind: 'refresh',
    clientSession,
    revoked: false,
    uses: 0,
    expiresAt: (iat + ctx.refreshTokenLifetime) * 1000,
  });

  let idToken: string | undefined;
  if (scope.split(' ').includes('openid')) {
    idToken = await ctx.keys.signRs256({
      ...common,
      exp: iat + ctx.accessTokenLifetime,
      auth_time: session.authTime,
      jti: randomUUID(),
      aud: clientSession.clientId,
      typ: 'ID',
      acr: '1',
      at_hash: atHash(accessToken),
      ...(nonce !== undefined ? { nonce } : {}),
      ...profileClaims(session),
    });
  }

  return {
    access_token: accessToken,
    expires_in: ctx.accessTokenLifetime,
    refresh_expires_in: ctx.refreshTokenLifetime,
    refresh_token: refreshToken,
    token_type: ctx.tokenType,
    ...(idToken !== undefined ? { id_token: idToken } : {}),
    'not-before-policy': 0,
    session_state: session.id,
    scope,
  };
}

/** An OpenID Connect Back-Channel Logout token for one client of an ended session. */
export async function mintLogoutToken(
  ctx: TokenContext,
  session: SsoSession,
  clientId: string,
): Promise<string> {
  const iat = Math.floor(ctx.now() / 1000);
  return ctx.keys.signRs256(
    {
      iss: ctx.issuer,
      aud: clientId,
      iat,
      exp: iat + 120,
      jti: randomUUID(),
      sub: session.user.sub,
      sid: session.id,
      typ: 'Logout',
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    },
    'logout+jwt',
  );
}
