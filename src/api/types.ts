/**
 * Types of the VideoManager Pro REST API objects, from movingimage's OpenAPI document and its
 * PHP client (see the facts file, section 3). Dates are epoch milliseconds unless the name says
 * ISO; lengths are milliseconds. Fields the API may leave out are optional: the API documents
 * few guarantees, so read them defensively.
 */

/** A VideoManager ID, e.g. `319`. */
export type VideoManagerId = number | string;
/** A video ID: about 22 URL-safe characters, e.g. `1wGJbtN7QPwkAkd8_VcgKH`. */
export type VideoId = string;

/** One entry of `GET /v1/vms`: a VideoManager the user can reach. */
export interface VideoManager {
  id: number;
  name: string;
  uuid?: string;
}

export interface Dimension {
  width: number;
  height: number;
}

/** A still image in one quality (`thumbnail`, `108p`, `288p`…). */
export interface Still {
  quality: string;
  url: string;
  dimension?: Dimension;
}

export interface Keyword {
  id: number;
  text: string;
}

/** A keyword of the VideoManager, from `GET …/keyword/find`. */
export interface VideoManagerKeyword extends Keyword {
  type?: string;
  createdAt?: number | string;
}

export interface ChannelRef {
  id: number;
  name: string;
}

/**
 * A video as `GET …/videos` and `GET …/videos/{id}` return it. Fields that have no value yet
 * (no upload, never published or played) may be `null`.
 */
export interface Video {
  id: VideoId;
  title?: string;
  description?: string;
  /** Protocol-relative URL, e.g. `//i.video-cdn.net/….jpeg`. */
  thumbnail?: string | null;
  /** Epoch ms. */
  createdDate?: number;
  /** Epoch ms. */
  modifiedDate?: number;
  /** Epoch ms. */
  uploadDate?: number | null;
  /** Epoch ms. */
  publicationDate?: number | null;
  /** Epoch ms. */
  lastPlayedDate?: number | null;
  /** Milliseconds. */
  length?: number | null;
  /** How often the source was replaced. */
  generation?: number;
  plays?: number;
  views?: number;
  allFormatsAvailable?: boolean;
  published?: boolean;
  audioOnly?: boolean;
  downloadable?: boolean;
  deleted?: boolean;
  vrContentType?: string | null;
  customMetadata?: Record<string, unknown>;
  keywords?: Keyword[];
  stills?: Still[];
  channels?: ChannelRef[];
  /** ISO 8601. */
  scheduledTrashDate?: string | null;
  ownershipGroupId?: number | null;
  adConfigurationId?: number | null;
  /** E-mail address. */
  owner?: string | null;
  substituteOwners?: string[];
  /** E-mail address. */
  uploader?: string | null;
  corporateTubeMetadata?: Record<string, unknown>;
  sourceLanguage?: string | null;
  uploadFileName?: string | null;
}

/** Filters of `GET /v1/vms/{vm}/videos`, in TypeScript form (sent snake_case). */
export interface VideoListFilters {
  /** Index of the first video (0-based). */
  offset?: number;
  /** Videos per page (the API's default is undocumented; 50 is common). */
  limit?: number;
  /** Sort direction; the API's default is `desc`. */
  order?: 'asc' | 'desc';
  /** Property to sort by, e.g. `created_date` (the allowed values are undocumented). */
  orderProperty?: string;
  /** Only videos in these channels (repeated `channel_id`). */
  channelId?: number | readonly number[];
  /** With `channelId`: include videos of the channels' sub-channels. */
  includeSubChannels?: boolean;
  publicationState?: 'published' | 'not_published' | 'all';
  audioOnly?: boolean;
  /** Sent as `archivedState` (camelCase on the wire). */
  archivedState?: 'ARCHIVED' | 'NOT_ARCHIVED' | 'ALL';
  /** Search terms (repeated `search_term`); also match the original file name. */
  searchTerm?: string | readonly string[];
  /** With `searchTerm`: `title`, `description`, `keywords` or a custom metadata field. */
  searchInField?: string;
  exactString?: boolean;
  includeCustomMetadata?: boolean;
  /** Custom metadata fields to include (repeated); needs `includeCustomMetadata: true`. */
  customMetadataField?: string | readonly string[];
  includeKeywords?: boolean;
  includeChannelAssignments?: boolean;
  includeOwner?: boolean;
  /** Picks the metadata set; the default set is used when this one has no value. */
  locale?: string;
}

/** One page of `GET /v1/vms/{vm}/videos`. */
export interface VideoPage {
  total: number;
  videos: Video[];
}

/** A page as `videos.iteratePages()` yields it: the page plus the offset it starts at. */
export interface VideoPageAt extends VideoPage {
  offset: number;
}

/** Options of `GET /v1/vms/{vm}/videos/{videoId}`. */
export interface VideoGetOptions {
  includeCustomMetadata?: boolean;
  /** Sent comma-separated on this endpoint. */
  customMetadataField?: string | readonly string[];
  includeKeywords?: boolean;
  includeChannelAssignments?: boolean;
  includeOwner?: boolean;
  /** Return the video even when it is not published. */
  ignorePublicationState?: boolean;
  metadataSetId?: number;
}

/** Body of `POST /v1/vms/{vm}/videos` (`VideoUploadRequestDTO`). */
export interface VideoCreateRequest {
  /** Required; its suffix (mp4, mov, mkv…) sets the MIME type. */
  fileName: string;
  title?: string;
  description?: string;
  keywords?: string[];
  /** Channel ID to put the video in. */
  channel?: number;
  /** Owner group ID. */
  group?: number;
  /** Publish once the upload is complete and the 360p MP4 is transcoded. */
  autoPublish?: boolean;
}

/** Body of `PATCH /v1/vms/{vm}/videos/{videoId}`: any subset of these. */
export interface VideoUpdate {
  title?: string;
  description?: string;
  published?: boolean;
  downloadable?: boolean;
  autoPublish?: boolean;
  /** A channel ID, or `0` to unlink. */
  relatedVideosChannelId?: number;
  /** An ID, or `0` for the global setting. */
  adConfigurationId?: number;
  /** An ID, or `0` for the global setting. */
  securityPolicyId?: number;
  /** An ID, or `0` for the global setting. */
  accessProfileId?: number;
  /** ISO 8601, or `null` for no deletion date. */
  scheduledTrashDate?: string | null;
  scheduledArchiveDate?: string | null;
  owner?: string;
  substituteOwners?: string[];
  retentionPolicyId?: number;
  /** Other fields of the video object the API accepts. */
  [field: string]: unknown;
}

/** One entry of `GET …/videos/{videoId}/download-urls`. */
export interface DownloadUrl {
  quality: string;
  profileKey: string;
  fileExtension: string;
  url: string;
  fileSize?: number;
  md5?: string;
}

export type EmbedType = 'iframe' | 'html_code' | 'link_url' | 'share_url' | (string & {});

/** Options of `GET …/videos/{videoId}/embed-codes`. */
export interface EmbedCodeOptions {
  /** Required: the player definition to embed (see `GET …/players`). */
  playerDefinitionId: string;
  /** Sent as `embedType`. */
  embedType?: EmbedType;
  /** Sent as `channelId`. */
  channelId?: number;
  /** For token-protected VideoManagers; the API's default is 180. */
  tokenLifetimeInSeconds?: number;
}

/** The answer of `GET …/embed-codes`; the PHP client reads `embedCode`. */
export interface EmbedCodes {
  embedCode?: string;
  [field: string]: unknown;
}

/** One entry of `GET …/videos/{videoId}/transcoding-status`. */
export interface TranscodingStatus {
  quality: string;
  profileKey: string;
  fileExtension: string;
  transcodingCompleted: boolean;
}

/** One entry of `GET …/videos/{videoId}/thumbnails` (`StillViewDTO`). */
export interface Thumbnail {
  id: number;
  active: boolean;
  items: Still[];
}

/** A channel; `GET …/channels` returns the root with its `children`. */
export interface Channel {
  id: number;
  name: string;
  description?: string;
  parentId?: number | null;
  children?: Channel[];
  rootChannel?: boolean;
  locked?: boolean;
  disabled?: boolean;
  /** Epoch ms. */
  createdDate?: number;
  /** Epoch ms. */
  modifiedDate?: number;
  owner?: { id?: number | string; firstName?: string; lastName?: string; email?: string };
  permissions?: string[];
  userGroupId?: number;
  customMetadata?: Record<string, unknown>;
  ownership?: { ownerGroupId?: number; visibility?: string };
}

/** Body of `POST /v1/vms/{vm}/channels`. */
export interface ChannelCreateRequest {
  name: string;
  parentId: number;
  ownerGroupId?: number;
}

/** Custom metadata of a video: field name → value (`null` in a patch deletes the value). */
export type CustomMetadata = Record<string, unknown>;
