/**
 * JSON forms of the demo data, as the API answers them: the video object (OAS-MD `VideoDTO1`,
 * epoch-ms dates, `length` in ms), still views, channels (one root with nested `children`).
 */
import type { ChannelRecord, StillRecord, VideoManagerRecord, VideoRecord } from './data.js';
import { allFormatsAvailable, STILL_QUALITIES } from './data.js';

/** Which optional parts of a video to include (the `include_*` query parameters). */
export interface VideoIncludes {
  customMetadata: boolean;
  /** Only these custom metadata fields; all when empty. */
  customMetadataFields: string[];
  keywords: boolean;
  channels: boolean;
  owner: boolean;
}

export const NO_INCLUDES: VideoIncludes = {
  customMetadata: false,
  customMetadataFields: [],
  keywords: false,
  channels: false,
  owner: false,
};

/**
 * Still images live on the CDN in production (`//i.video-cdn.net/…`); the emulator names them
 * on its own host in the DOC-DYN form, protocol-relative like the real `thumbnail` field. It
 * does not serve them.
 */
function stillUrl(origin: string, video: VideoRecord, still: StillRecord, quality: string): string {
  return `//${new URL(origin).host}/public/videos/${video.id}/thumbnails/${still.id}?quality=${quality}`;
}

export function stillItems(origin: string, video: VideoRecord, still: StillRecord) {
  return STILL_QUALITIES.map(({ quality, width, height }) => ({
    quality,
    url: stillUrl(origin, video, still, quality),
    dimension: { width, height },
  }));
}

/** `StillViewDTO`. */
export function stillView(origin: string, video: VideoRecord, still: StillRecord) {
  return { id: still.id, active: still.active, items: stillItems(origin, video, still) };
}

export function videoJson(
  vm: VideoManagerRecord,
  video: VideoRecord,
  includes: VideoIncludes,
  origin: string,
  now: number,
): Record<string, unknown> {
  const active = video.stills.find((still) => still.active);
  const json: Record<string, unknown> = {
    id: video.id,
    title: video.title,
    description: video.description,
    thumbnail: active ? stillUrl(origin, video, active, 'thumbnail') : null,
    createdDate: video.createdDate,
    modifiedDate: video.modifiedDate,
    uploadDate: video.uploadDate,
    length: video.length,
    generation: video.generation,
    plays: video.plays,
    views: video.views,
    allFormatsAvailable: allFormatsAvailable(video, now),
    published: video.published,
    audioOnly: video.audioOnly,
    downloadable: video.downloadable,
    deleted: video.trashedDate !== null,
    vrContentType: video.vrContentType,
    stills: active ? stillItems(origin, video, active) : [],
    scheduledTrashDate: video.scheduledTrashDate,
    ownershipGroupId: video.ownershipGroupId,
    adConfigurationId: video.adConfigurationId,
    uploader: video.uploader,
    publicationDate: video.publicationDate,
    lastPlayedDate: video.lastPlayedDate,
    sourceLanguage: video.sourceLanguage,
    uploadFileName: video.uploadFileName,
  };
  if (includes.customMetadata) {
    const wanted = includes.customMetadataFields;
    json['customMetadata'] = Object.fromEntries(
      Object.entries(video.customMetadata)
        .filter(([key]) => wanted.length === 0 || wanted.includes(key))
        .map(([key, value]) => [key, Array.isArray(value) ? [...value] : value]),
    );
  }
  if (includes.keywords) {
    json['keywords'] = video.keywordIds.flatMap((id) => {
      const keyword = vm.keywords.get(id);
      return keyword ? [{ id: keyword.id, text: keyword.text }] : [];
    });
  }
  if (includes.channels) {
    json['channels'] = video.channelIds.flatMap((id) => {
      const channel = vm.channels.get(id);
      return channel ? [{ id: channel.id, name: channel.name }] : [];
    });
  }
  if (includes.owner) {
    json['owner'] = video.owner;
    json['substituteOwners'] = [...video.substituteOwners];
  }
  return json;
}

/** One channel without its children. */
export function channelJson(channel: ChannelRecord): Record<string, unknown> {
  return {
    id: channel.id,
    name: channel.name,
    description: channel.description,
    parentId: channel.parentId,
    locked: false,
    disabled: false,
    createdDate: channel.createdDate,
    modifiedDate: channel.modifiedDate,
    // Every demo channel is visible to the whole VideoManager; `visibility` is a boolean (ChannelDto).
    ownership: { ownerGroupId: channel.ownerGroupId, visibility: true },
  };
}

/** A channel with its subtree, children in the order they were created (the API does not sort). */
export function channelTree(vm: VideoManagerRecord, channel: ChannelRecord): Record<string, unknown> {
  const children = [...vm.channels.values()].filter((child) => child.parentId === channel.id);
  return { ...channelJson(channel), children: children.map((child) => channelTree(vm, child)) };
}
