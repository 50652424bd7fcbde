/**
 * The protocol core of vmpro-connect: discovery (WebFinger + OpenID configuration), the
 * authorization code flow with PKCE S256, state and nonce, callback validation, code exchange,
 * ID-token validation, refresh, logout, revocation, back-channel logout tokens, and the password
 * grant service account. Built on openid-client v6 and jose.
 */

export {
  RELAY_PAGE_SCRIPT_HASH,
  relayPageHtml,
  type ValidatedCallback,
} from './callback.js';
export {
  type AuthorizationRequestOptions,
  createOidcClient,
  type EndSessionOptions,
  type OidcClient,
  type OidcClientMetadata,
} from './client.js';
export {
  type ClientAuthMethod,
  DEFAULT_API_BASE,
  isLoopbackHost,
  type OidcClientOptions,
  type ParsedOptions,
  parseOidcClientOptions,
} from './config.js';
export {
  clearDiscoveryCache,
  type DiscoveryOptions,
  type DiscoveryResult,
  discover,
  ISSUER_LINK_REL,
  type OidcMetadata,
} from './discovery.js';
export { BACKCHANNEL_LOGOUT_EVENT, type LogoutTokenClaims } from './jwt.js';
export { createServiceAccount, type ServiceAccount, type ServiceAccountOptions } from './service-account.js';
export { type TokenResponse, toTokenSet } from './token-set.js';
export type { AuthTransaction, IdTokenClaims, TokenSet } from './types.js';
