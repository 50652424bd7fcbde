/**
 * `vmpro-connect/api`: a typed VideoManager Pro REST API client over `fetch`.
 *
 * @example
 * ```ts
 * import { createVmproApiClient, fixedToken } from 'vmpro-connect/api'
 * const api = createVmproApiClient({ tokenSource: fixedToken(accessToken) })
 * const vms = await api.vms.list()
 * ```
 */
export {
  type CallOptions,
  type ChannelsResource,
  createVmproApiClient,
  type IterateOptions,
  type KeywordsResource,
  type MetadataResource,
  type PlayerDefinition,
  type RequestOptions,
  type VideosResource,
  type VmproApiClient,
  type VmproApiClientOptions,
  type VmsResource,
} from './client.js';
export { isVmproApiError, VmproApiError, type VmproApiErrorDetails } from './errors.js';
export { fixedToken } from './fixed-token.js';
export type { QueryInput, QueryScalar, QueryValue } from './query.js';
export type {
  AfterResponseHook,
  BeforeRequestHook,
  BeforeRetryHook,
  HookContext,
  Hooks,
  RequestBody,
  RetryOptions,
  RetryState,
  VmproApiResponse,
} from './transport.js';
export type * from './types.js';
export { DEFAULT_CHUNK_SIZE, type UploadOptions, type UploadResult, type UploadSource } from './upload.js';
