/**
 * Starts `oidc-provider` (a certified OpenID provider, independent of this package and of the
 * emulator) on 127.0.0.1 with Keycloak's layout, so the same integration test body runs against
 * both:
 *
 * - issuer `http://127.0.0.1:PORT/auth/realms/platform`
 * - `/protocol/openid-connect/auth|token|certs|userinfo|logout|revoke`
 * - WebFinger at `/.well-known/webfinger` in movingimage's form (the link is the full
 *   openid-configuration URL), so discovery from the API base works too
 * - PKCE S256 required, a confidential client with `client_secret_post`, refresh tokens without
 *   `offline_access`, revocation, RP-initiated logout, back-channel logout, and the built-in
 *   development login form (any user name and password).
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';

export const REALM_PATH = '/auth/realms/platform';

// oidc-provider ships no type declarations: the few parts used here, typed by hand.
interface Grant {
  addOIDCScope(scope: string): void;
  save(): Promise<string>;
}
interface ProviderContext {
  oidc: {
    client?: { clientId: string };
    session?: { accountId?: string };
    provider: { Grant: new (init: { clientId: string; accountId: string }) => Grant };
  };
}
interface ProviderClient {
  grantTypeAllowed(type: string): boolean;
}
interface ProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}
type ProviderConstructor = new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;

async function loadProvider(): Promise<ProviderConstructor> {
  const specifier: string = 'oidc-provider';
  const module = (await import(specifier)) as { default: ProviderConstructor };
  return module.default;
}

export interface StartedOidcProvider {
  /** `http://127.0.0.1:PORT`: the API base for WebFinger. */
  url: string;
  apiBase: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
  close(): Promise<void>;
}

export interface OidcProviderOptions {
  clientId?: string;
  clientSecret?: string;
  redirectUri?: string;
  postLogoutRedirectUri?: string;
}

export async function startOidcProvider(options: OidcProviderOptions = {}): Promise<StartedOidcProvider> {
  const clientId = options.clientId ?? 'vmpro-test';
  const clientSecret = options.clientSecret ?? 'vmpro-test-secret-0123456789';
  const redirectUri = options.redirectUri ?? 'http://127.0.0.1:3000/auth/callback';
  const postLogoutRedirectUri = options.postLogoutRedirectUri ?? 'http://127.0.0.1:3000/';

  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const issuer = `${url}${REALM_PATH}`;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = {
    ...(await exportJWK(privateKey)),
    kid: 'oidc-provider-test',
    alg: 'RS256',
    use: 'sig',
  };

  const Provider = await loadProvider();
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        post_logout_redirect_uris: [postLogoutRedirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    cookies: { keys: ['oidc-provider-test-cookie-key-0123456789'] },
    jwks: { keys: [signingKey] },
    ttl: {
      AccessToken: 300,
      AuthorizationCode: 60,
      IdToken: 300,
      RefreshToken: 3600,
      Grant: 3600,
      Session: 3600,
      Interaction: 600,
    },
    findAccount: async (_ctx: ProviderContext, sub: string) => ({
      accountId: sub,
      claims: async () => ({ sub, preferred_username: sub, name: `User ${sub}` }),
    }),
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true, allowedPolicy: async () => true },
      rpInitiatedLogout: { enabled: true },
      backchannelLogout: { enabled: true },
    },
    routes: {
      authorization: '/protocol/openid-connect/auth',
      token: '/protocol/openid-connect/token',
      jwks: '/protocol/openid-connect/certs',
      userinfo: '/protocol/openid-connect/userinfo',
      end_session: '/protocol/openid-connect/logout',
      revocation: '/protocol/openid-connect/revoke',
    },
    // Like Keycloak: a refresh token for every code grant, without offline_access.
    issueRefreshToken: async (_ctx: ProviderContext, client: ProviderClient) =>
      client.grantTypeAllowed('refresh_token'),
    // Like Keycloak for a first-party client: no consent screen.
    loadExistingGrant: async (ctx: ProviderContext) => {
      const { client, session, provider: p } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const grant = new p.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope('openid');
      await grant.save();
      return grant;
    },
  });
  const callback = provider.callback();

  handler = (req, res) => {
    const requestUrl = new URL(req.url ?? '/', url);
    if (requestUrl.pathname === '/.well-known/webfinger') {
      res.setHeader('content-type', 'application/jrd+json');
      res.setHeader('cache-control', 'max-age=60');
      res.end(
        JSON.stringify({
          subject: `${url}/v1/`,
          links: [
            {
              rel: 'http://openid.net/specs/connect/1.0/issuer',
              href: `${issuer}/.well-known/openid-configuration`,
            },
          ],
        }),
      );
      return;
    }
    if (requestUrl.pathname === REALM_PATH || requestUrl.pathname.startsWith(`${REALM_PATH}/`)) {
      // Mounting under a path prefix, as oidc-provider's docs describe for plain node:http.
      (req as IncomingMessage & { originalUrl?: string | undefined }).originalUrl = req.url;
      req.url = (req.url ?? '/').slice(REALM_PATH.length) || '/';
      callback(req, res);
      return;
    }
    res.statusCode = 404;
    res.end('not found');
  };

  return {
    url,
    apiBase: url,
    issuer,
    clientId,
    clientSecret,
    redirectUri,
    postLogoutRedirectUri,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
