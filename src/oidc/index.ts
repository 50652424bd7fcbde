/**
 * The protocol core of vmpro-connect: discovery (WebFinger + OpenID configuration), the
 * authorization code flow with PKCE S256, state and nonce, callback validation, code exchange,
 * ID-token validation, refresh, logout, revocation, back-channel logout tokens, and the password
 * grant service account. Built on openid-client v6 and jose.
 *
 * This is the layer's index for the other layers of this repository; the package root
 * (`src/index.ts`) picks what users get from it.
 */

export { DEFAULT_API_BASE } from '../internal/url.js';
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
  DEFAULT_CLOCK_TOLERANCE_SEC,
  type OidcClientOptions,
} from './config.js';
export {
  type DiscoveryOptions,
  type DiscoveryRequestOptions,
  type DiscoveryResult,
  type DiscoveryTarget,
  discover,
  discoveryRequest,
  ISSUER_LINK_REL,
  type OidcMetadata,
  processDiscoveryResponse,
  processWebfingerResponse,
  type WebfingerResult,
  webfingerRequest,
} from './discovery.js';
export { createDiscoveryCache, type DiscoveryCache } from './discovery-cache.js';
export { BACKCHANNEL_LOGOUT_EVENT, type LogoutTokenClaims } from './jwt.js';
export { createServiceAccount, type ServiceAccount, type ServiceAccountOptions } from './service-account.js';
export type { AuthTransaction, IdTokenClaims, TokenSet } from './types.js';
