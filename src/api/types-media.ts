/**
 * Types of the media and account endpoints of the VideoManager Pro API: attachments, player
 * definitions, stills (thumbnails), metadata sets, corporate-tube metadata, video analytics,
 * user info and embed codes (facts file, sections 3.2 and 4.1). The client returns them in the
 * one form documented here, whatever form the API sent (see `media.ts` for what is normalised).
 */

import type { VideoId } from './types.js';

/** The type of an attachment (`Slides`, `Transcript`…). */
export interface AttachmentType {
  /** Always a string here (the API's IDs are strings; a number is converted). */
  id: string;
  name: string;
  /** File suffixes this type accepts, e.g. `['pdf', 'pptx']`; not every answer carries them. */
  allowedFileTypes?: string[];
}

/** The file of an attachment. */
export interface AttachmentData {
  /** Attachment IDs are strings (facts 3.1); a number is converted. */
  id: string;
  fileName: string;
  /** Where to download it; tokenised for protected VideoManagers. */
  downloadUrl: string;
  /** Bytes. */
  fileSize: number;
}

/**
 * One entry of `GET …/videos/{id}/attachments` or `GET …/channels/{id}/attachments`.
 *
 * @example
 * ```ts
 * const files: Attachment[] = await api.videos.attachments(vmId, videoId)
 * const slides = files.filter((file) => file.type.name === 'Slides').map((file) => file.data.downloadUrl)
 * ```
 */
export interface Attachment {
  type: AttachmentType;
  data: AttachmentData;
}

/**
 * A player definition of `GET /v1/vms/{vm}/players`; its `id` is what `videos.embedCodes()`
 * needs as `playerDefinitionId`.
 *
 * @example
 * ```ts
 * const player = (await api.vms.players(vmId)).find((each) => each.active !== false)
 * ```
 */
export interface Player {
  /** Always a string (PHP-CLIENT maps it so); a number is converted. */
  id: string;
  name: string;
  active?: boolean;
}

/**
 * A metadata set of a VideoManager (`GET /v1/vms/{vm}/metadata-sets`): a language (or custom set)
 * that texts and custom metadata can be kept in; its `id` is what `metadataSetId` options take.
 *
 * @example
 * ```ts
 * const german = (await api.vms.metadataSets(vmId)).find((set) => set.keyName === 'de')
 * await api.videos.update(vmId, videoId, { title: 'Hallo' }, { metadataSetId: german?.id })
 * ```
 */
export interface MetadataSet {
  id: number;
  /** A locale such as `en`, `en-AU`, `de`, or a custom key. */
  keyName: string;
  type: 'LOCALIZATION' | 'CUSTOM' | (string & {});
  isDefault: boolean;
}

/**
 * The still (thumbnail) download address of `GET …/videos/{id}/thumbnails/{stillId}/url`.
 *
 * @example
 * ```ts
 * const { downloadUrl } = await api.thumbnails.get(vmId, videoId, stillId)
 * ```
 */
export interface ThumbnailUrl {
  /** The still's ID. */
  id: number;
  downloadUrl: string;
}

/** A date the client accepts: a `Date`, an ISO 8601 string, or epoch milliseconds. */
export type DateInput = Date | string | number;

/**
 * The corporate-tube metadata of a video (`GET …/videos/{id}/metadata/corporate-tube`). Every
 * field may be `null` (not set).
 *
 * @example
 * ```ts
 * const meta: CorporateTubeMetadata = await api.metadata.getCorporateTube(vmId, videoId)
 * meta.uploadDate // '2023-06-05T14:26:23Z'
 * ```
 */
export interface CorporateTubeMetadata {
  /** ISO 8601 (an epoch-ms answer is converted). */
  uploadDate: string | null;
  /** VideoManager Pro user IDs, as strings (a number is converted). */
  uploaderUserId: string | null;
  inChargeUserId: string | null;
  /** Keycloak (login server) user IDs, UUIDs. */
  uploaderKeycloakUserId: string | null;
  inChargeKeycloakUserId: string | null;
}

/**
 * Body of `PATCH …/videos/{id}/metadata/corporate-tube`: any subset; `null` clears a field.
 * `uploadDate` is sent as ISO 8601 whatever form it is given in.
 *
 * @example
 * ```ts
 * await api.metadata.patchCorporateTube(vmId, videoId, { inChargeUserId: '80076', uploadDate: new Date() })
 * ```
 */
export interface CorporateTubeMetadataPatch {
  uploadDate?: DateInput | null | undefined;
  uploaderUserId?: string | number | null | undefined;
  inChargeUserId?: string | number | null | undefined;
  uploaderKeycloakUserId?: string | null | undefined;
  inChargeKeycloakUserId?: string | null | undefined;
}

/**
 * Query of `GET /v1/vms/{vm}/analytics/videos`. The API allows at most 100 videos per page and
 * 100 `videoIds`; the client checks both before sending.
 *
 * @example
 * ```ts
 * const page = await api.analytics.videos(vmId, { from: '2025-01-01T00:00:00Z', to: new Date(), limit: 50 })
 * ```
 */
export interface VideoAnalyticsQuery {
  /** Start of the period (sent as ISO 8601 `analyticsStartDateTime`). */
  from?: DateInput | undefined;
  /** End of the period (sent as ISO 8601 `analyticsEndDateTime`). */
  to?: DateInput | undefined;
  /** Only these videos (repeated `videoIds`, at most 100). */
  videoIds?: VideoId | readonly VideoId[] | undefined;
  /** Items per page, 1–100. */
  limit?: number | undefined;
  /** Index of the first item (0-based). */
  offset?: number | undefined;
}

/**
 * One entry of `GET /v1/vms/{vm}/analytics/videos` (`VideoAnalyticsDTO`): the video and how often
 * it was played in the period. Dates are ISO 8601 here (epoch-ms answers are converted).
 *
 * @example
 * ```ts
 * for await (const item of api.analytics.iterateVideos(vmId, { from: lastMonth })) total += item.plays
 * ```
 */
export interface VideoAnalytics {
  id: VideoId;
  /** Plays in the period. */
  plays: number;
  /** Views in the period, when the API sends them (undocumented). */
  views?: number;
  title?: string;
  description?: string | null;
  /** ISO 8601. */
  createdDate?: string;
  /** ISO 8601. */
  modifiedDate?: string;
  /** Milliseconds. */
  duration?: number;
  uploadedFile?: string | null;
  published?: boolean;
  channels?: { id: number; name: string }[];
  groups?: { id: number; name: string }[];
  metadata?: Record<string, unknown>;
  /** Fields this client does not know, as the API sent them. */
  [field: string]: unknown;
}

/**
 * One page of video analytics, with the offset and limit it was asked for. `total` is there only
 * when the API sends one.
 *
 * @example
 * ```ts
 * const { videos, offset } = await api.analytics.videos(vmId, { offset: 100, limit: 100 })
 * ```
 */
export interface VideoAnalyticsPage {
  videos: VideoAnalytics[];
  offset: number;
  limit: number;
  total?: number;
}

/**
 * The user behind an ID token, from `POST /v1/vms/corp-tube-admin/user-info`.
 *
 * @example
 * ```ts
 * const { email, videoManagerIds } = await api.vms.userInfo(tokens.idToken)
 * ```
 */
export interface UserInfo {
  email: string;
  fullName: string;
  videoManagerIds: number[];
}
