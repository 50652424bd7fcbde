/**
 * Types of the VideoManager Pro REST API objects, from movingimage's OpenAPI document and its
 * PHP client (see the facts file, section 3). Dates are epoch milliseconds unless the name says
 * ISO; lengths are milliseconds. Fields the API may leave out are optional: the API documents
 * few guarantees, so read them defensively.
 */

import type { VideoDetails, VideoListItem } from './types-video.js';

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
 * A video as `GET …/videos/{id}` returns it.
 *
 * @deprecated Use `VideoListItem` (items of `GET …/videos`) or `VideoDetails` (`GET …/videos/{id}`).
 * @example
 * ```ts
 * const video: Video = await api.videos.get(vmId, videoId)
 * ```
 */
export type Video = VideoDetails;

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
  /** Only the video(s) with these IDs (repeated `video_id`), as PHP-CLIENT's `setVideoId`. */
  videoId?: VideoId | readonly VideoId[];
  /** Key of the metadata set to read texts from, e.g. `de` (sent as `metadata_set_key`). */
  metadataSetKey?: string;
}

/** One page of `GET /v1/vms/{vm}/videos`. */
export interface VideoPage {
  total: number;
  videos: VideoListItem[];
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
  /** Channel to take related videos from (sent as `related_videos_channel_id`, as PHP-CLIENT does). */
  relatedVideosChannelId?: number;
}

/** Body of `POST /v1/vms/{vm}/videos` (`VideoUploadRequestDTO`). */
export interface VideoCreateRequest {
  /** Required; its suffix (mp4, mov, mkv…) sets the MIME type. */
  fileName: string;
  title?: string | null | undefined;
  description?: string | null | undefined;
  keywords?: readonly string[] | null | undefined;
  /** Channel ID to put the video in. */
  channel?: number | null | undefined;
  /** Owner group ID; a string too, as PHP-CLIENT sends it. */
  group?: number | string | null | undefined;
  /** Publish once the upload is complete and the 360p MP4 is transcoded (`false` is sent). */
  autoPublish?: boolean | null | undefined;
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
  /** Required (`player_definition_id`): the player definition to embed (see `vms.players()`). */
  playerDefinitionId: string;
  /**
   * Sent under both names the sources use, `embedType` (OAS-MD) and `embed_type` (PHP-CLIENT);
   * the API picks its default when absent.
   */
  embedType?: EmbedType | undefined;
  /** Sent as `channelId` (a numeric string is accepted too). */
  channelId?: number | string | undefined;
  /** `token_lifetime_in_seconds`, for token-protected VideoManagers; the API's default is 180. */
  tokenLifetimeInSeconds?: number | undefined;
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
  /** `null` when the channel has none (as search documents show). */
  description?: string | null;
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
  ownership?: { ownerGroupId?: number | null; visibility?: boolean };
  /** Fields this client does not know, as the API sent them. */
  [field: string]: unknown;
}

/** Body of `POST /v1/vms/{vm}/channels`. */
export interface ChannelCreateRequest {
  name: string;
  parentId: number;
  ownerGroupId?: number;
}

/** Custom metadata of a video: field name → value (`null` in a patch deletes the value). */
export type CustomMetadata = Record<string, unknown>;
