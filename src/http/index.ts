/**
 * Framework-neutral HTTP handlers on Web `Request`/`Response`: login, callback, logout,
 * back-channel logout, session lookup and protection. The adapters (`vmpro-connect/express`,
 * `vmpro-connect/fastify`, `vmpro-connect/web`) are thin layers over these.
 *
 * Only what users call is exported; the adapters and the rest of this repository import the
 * module files (`./cookies.js`, `./responses.js`…) directly.
 */
export {
  createVmproAuth,
  type RequestLike,
  type SetCookieSink,
  type VmproAuth,
  type VmproContext,
  type VmproGuard,
} from './auth.js';
export {
  type AccessRule,
  hasRole,
  type RoleRequirement,
  type VmproClaims,
  type VmproIdTokenClaims,
  type VmproUser,
} from './claims.js';
export type { ResolvedAuthOptions, VmproAuthOptions } from './config.js';
export type {
  LoginEvent,
  LogoutEvent,
  SessionEndReason,
  SessionEvent,
  VmproEvent,
  VmproEventType,
} from './events.js';
export {
  type AfterLoginContext,
  type AfterLoginHook,
  type AfterLoginResult,
  loginRefused,
} from './hooks.js';
export type { ErrorPage, ErrorPageInfo } from './responses.js';
