/**
 * vmpro-connect: sign users in to movingimage VideoManager Pro, keep their tokens fresh, call the
 * VideoManager Pro REST API. This is the package root; framework adapters, sessions, the http
 * handlers, the API client and the emulator live under their own subpaths.
 *
 * Every name is listed here on purpose: what the layers share among themselves (their own
 * indexes, `src/internal/`) stays out of the public surface.
 */

export {
  isVmproError,
  OAuthError,
  VmproError,
  type VmproErrorCode,
  type VmproErrorOptions,
} from './errors.js';
export { type FieldsFirstLogger, fieldsFirstLogger, type Logger, silentLogger } from './logger.js';
export {
  type AuthorizationRequestOptions,
  type AuthTransaction,
  BACKCHANNEL_LOGOUT_EVENT,
  type ClientAuthMethod,
  createDiscoveryCache,
  createOidcClient,
  createServiceAccount,
  DEFAULT_API_BASE,
  DEFAULT_CLOCK_TOLERANCE_SEC,
  type DiscoveryCache,
  type DiscoveryOptions,
  type DiscoveryRequestOptions,
  type DiscoveryResult,
  type DiscoveryTarget,
  discover,
  discoveryRequest,
  type EndSessionOptions,
  type IdTokenClaims,
  ISSUER_LINK_REL,
  type LogoutTokenClaims,
  type OidcClient,
  type OidcClientMetadata,
  type OidcClientOptions,
  type OidcMetadata,
  processDiscoveryResponse,
  processWebfingerResponse,
  RELAY_PAGE_SCRIPT_HASH,
  relayPageHtml,
  type ServiceAccount,
  type ServiceAccountOptions,
  type TokenSet,
  type ValidatedCallback,
  type WebfingerResult,
  webfingerRequest,
} from './oidc/index.js';
export type { TokenSource } from './token-source.js';
