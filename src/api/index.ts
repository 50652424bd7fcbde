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
  type ChannelVideoLink,
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
export {
  ANALYTICS_MAX_LIMIT,
  type AnalyticsIterateOptions,
  type AnalyticsResource,
  type ChannelsMediaMethods,
  type MetadataMediaMethods,
  type ThumbnailsResource,
  toIsoDateTime,
  type VideosMediaMethods,
  type VmsMediaMethods,
} from './media.js';
export type { QueryInput, QueryScalar, QueryValue } from './query.js';
export type { SearchIterateOptions, SearchOptions, SearchResource } from './search.js';
export { escapeSearchValue, SearchQuery, type SearchValue, searchQuery } from './search-query.js';
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
export type * from './types-media.js';
export type * from './types-video.js';
export { DEFAULT_CHUNK_SIZE, type UploadOptions, type UploadResult, type UploadSource } from './upload.js';
