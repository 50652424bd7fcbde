/**
 * Types of videos and channels as the client hands them out: a list item of `GET …/videos`, the
 * details of `GET …/videos/{id}`, and the documents of the legacy search endpoint
 * `POST /v1/vms/search` (facts 3.2, 3.3). Every object keeps the fields the client does not
 * know under their own names (the index signature): nothing the API sends is dropped.
 *
 * The API is not consistent about forms, so the client normalises what it reads (see
 * `src/api/normalize.ts`):
 * - `/videos` objects: dates are **epoch milliseconds** (ISO strings are converted), `length` is
 *   milliseconds (taken from `duration` when only that is sent), channel and keyword IDs are
 *   numbers (numeric strings are converted).
 * - search documents: dates are **ISO 8601 strings** (epoch ms are converted), `duration` is
 *   milliseconds, `channels` is a list of channel IDs, `keywords` a list of texts,
 *   `videoManagerId` a number.
 */

/**
 * A channel a video is in; `name` is absent when the API listed bare channel IDs.
 *
 * @example
 * ```ts
 * const names = (video.channels ?? []).map((c: VideoChannelRef) => c.name ?? `#${c.id}`)
 * ```
 */
export interface VideoChannelRef {
  id: number;
  name?: string | undefined;
}

/**
 * A keyword of a video; `id` is absent when the API listed bare keyword texts.
 *
 * @example
 * ```ts
 * const texts = (video.keywords ?? []).map((k: VideoKeywordRef) => k.text)
 * ```
 */
export interface VideoKeywordRef {
  id?: number | undefined;
  text: string;
}

/**
 * A still image of a video in one quality (`thumbnail`, `108p`, `288p`, `720p`…).
 *
 * @example
 * ```ts
 * const small: VideoStill | undefined = video.stills?.find((s) => s.quality === 'thumbnail')
 * ```
 */
export interface VideoStill {
  quality: string;
  /** Protocol-relative CDN URL, e.g. `//i.video-cdn.net/….jpeg`. */
  url: string;
  /** Pixel size of this quality. */
  dimension?: { width: number; height: number } | undefined;
}

/**
 * One video of `GET /v1/vms/{vm}/videos` (`videos.list()`, `videos.iterate()`).
 *
 * The fields that need an `include_*` flag on the list are absent without it:
 * `customMetadata` (`includeCustomMetadata`, narrowed by `customMetadataField`), `keywords`
 * (`includeKeywords`), `channels` (`includeChannelAssignments`), `owner` and `substituteOwners`
 * (`includeOwner`). Fields with no value yet (no upload, never published or played) may be `null`.
 *
 * @example
 * ```ts
 * const { videos } = await api.videos.list(vmId, { includeKeywords: true, limit: 10 })
 * const tagged = videos.filter((video: VideoListItem) => video.keywords?.some((k) => k.text === 'launch'))
 * ```
 */
export interface VideoListItem {
  /** About 22 URL-safe characters, e.g. `1wGJbtN7QPwkAkd8_VcgKH`. */
  id: string;
  title?: string | undefined;
  description?: string | undefined;
  /** Protocol-relative URL of the active still, e.g. `//i.video-cdn.net/….jpeg`. */
  thumbnail?: string | null | undefined;
  /** Epoch ms (an ISO string from the API is converted). */
  createdDate?: number | undefined;
  /** Epoch ms. */
  modifiedDate?: number | undefined;
  /** Epoch ms; `null` before the first upload. */
  uploadDate?: number | null | undefined;
  /** Epoch ms; `null` while never published. */
  publicationDate?: number | null | undefined;
  /** Epoch ms; `null` while never played. */
  lastPlayedDate?: number | null | undefined;
  /** Milliseconds (from `duration` when the API sent only that). */
  length?: number | null | undefined;
  /** How often the source file was replaced. */
  generation?: number | undefined;
  plays?: number | undefined;
  views?: number | undefined;
  /** Every rendition is transcoded. */
  allFormatsAvailable?: boolean | undefined;
  published?: boolean | undefined;
  audioOnly?: boolean | undefined;
  /** Viewers may download the video. */
  downloadable?: boolean | undefined;
  /** The video is in the trash. */
  deleted?: boolean | undefined;
  vrContentType?: string | null | undefined;
  /** The active still in each quality, with its pixel size. */
  stills?: VideoStill[] | undefined;
  /** ISO 8601 date of the scheduled move to the trash, or `null`. */
  scheduledTrashDate?: string | null | undefined;
  ownershipGroupId?: number | null | undefined;
  adConfigurationId?: number | null | undefined;
  /** E-mail address of the uploader. */
  uploader?: string | null | undefined;
  sourceLanguage?: string | null | undefined;
  /** Name of the uploaded file. */
  uploadFileName?: string | null | undefined;
  /** Only with `includeCustomMetadata`: field key → value (a string, or option names). */
  customMetadata?: Record<string, unknown> | undefined;
  /** Only with `includeKeywords`. */
  keywords?: VideoKeywordRef[] | undefined;
  /** Only with `includeChannelAssignments`. */
  channels?: VideoChannelRef[] | undefined;
  /** Only with `includeOwner`: e-mail address. */
  owner?: string | null | undefined;
  /** Only with `includeOwner`. */
  substituteOwners?: string[] | undefined;
  /** Fields this client does not know, as the API sent them. */
  [field: string]: unknown;
}

/**
 * One video as `GET /v1/vms/{vm}/videos/{videoId}` returns it (`videos.get()`): the list item's
 * fields plus the ones only the single-video answer carries.
 *
 * The same `include_*` flags apply (`includeCustomMetadata`, `customMetadataField`,
 * `includeKeywords`, `includeChannelAssignments`, `includeOwner`); an unpublished video is a
 * `404` unless `ignorePublicationState` is set.
 *
 * @example
 * ```ts
 * const video: VideoDetails = await api.videos.get(vmId, videoId, { includeCustomMetadata: true })
 * const big = video.stills?.find((still) => (still.dimension?.height ?? 0) >= 720)
 * ```
 */
export interface VideoDetails extends VideoListItem {
  /** Corporate-tube data: `uploadDate` (ISO), `uploaderUserId`, `inChargeUserId`… */
  corporateTubeMetadata?: Record<string, unknown> | undefined;
}

/**
 * One page of `GET /v1/vms/{vm}/videos`.
 *
 * @example
 * ```ts
 * const page: VideoListPage = await api.videos.list(vmId, { limit: 10 })
 * ```
 */
export interface VideoListPage {
  total: number;
  videos: VideoListItem[];
}

/**
 * A video document of the legacy search endpoint (`api.search.videos()`), in the search form:
 * ISO dates, `duration` instead of `length`, channel IDs, keyword texts and the VideoManager.
 *
 * @example
 * ```ts
 * const { result } = await api.search.videos(vmId, { query: searchQuery().published(true) })
 * const inChannel = result.filter((doc: SearchVideo) => doc.channels.includes(12))
 * ```
 */
export interface SearchVideo {
  videoManagerId: number;
  id: string;
  title?: string | undefined;
  description?: string | undefined;
  uploadFileName?: string | null | undefined;
  /** Milliseconds (from `length` when the API sent only that). */
  duration?: number | null | undefined;
  /** ISO 8601 (epoch ms from the API are converted). */
  createdDate?: string | undefined;
  /** ISO 8601, when sent. */
  modifiedDate?: string | undefined;
  published?: boolean | undefined;
  downloadable?: boolean | undefined;
  /** Keyword texts. */
  keywords: string[];
  /** Channel IDs. */
  channels: number[];
  customMetadata?: Record<string, unknown> | undefined;
  [field: string]: unknown;
}

/**
 * A channel document of the legacy search endpoint (`api.search.channels()`): flat, with
 * `parentId` instead of nested children.
 *
 * @example
 * ```ts
 * const { result } = await api.search.channels(vmId, { query: searchQuery().field('name', 'Events') })
 * const roots = result.filter((doc: SearchChannel) => doc.parentId === null)
 * ```
 */
export interface SearchChannel {
  videoManagerId: number;
  id: number;
  /** `null` for the root channel. */
  parentId: number | null;
  name: string;
  description: string | null;
  customMetadata?: Record<string, unknown> | undefined;
  [field: string]: unknown;
}

/**
 * One page of search hits: the total number of matches and this page of documents.
 *
 * @example
 * ```ts
 * const page: SearchPage<SearchVideo> = await api.search.videos(vmId, { size: 20 })
 * console.log(`${page.result.length} of ${page.total}`)
 * ```
 */
export interface SearchPage<T> {
  total: number;
  result: T[];
}
