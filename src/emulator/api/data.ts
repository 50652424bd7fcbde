/**
 * The emulated API's demo data: VideoManagers, channel trees, videos, keywords, custom metadata,
 * stills and players. `seed()` builds the same data every time (no randomness, fixed dates), and
 * each `createVmproApi` instance keeps its own mutable copy.
 */
import { createHash } from 'node:crypto';
import { DEMO_USERS } from './contract.js';
import {
  type AttachmentRecord,
  type AttachmentTypeRecord,
  type CorporateTubeRecord,
  seedVmMedia,
} from './media-seed.js';

/** One rendition the emulator "transcodes" a video into. */
export interface Profile {
  quality: string;
  profileKey: string;
  fileExtension: string;
  /** Bit rate used to make up file sizes. */
  kbps: number;
}

export const VIDEO_PROFILES: readonly Profile[] = [
  { quality: '360p', profileKey: 'h264_360p', fileExtension: 'mp4', kbps: 800 },
  { quality: '720p', profileKey: 'h264_720p', fileExtension: 'mp4', kbps: 2500 },
  { quality: '1080p', profileKey: 'h264_1080p', fileExtension: 'mp4', kbps: 5000 },
];
export const AUDIO_PROFILES: readonly Profile[] = [
  { quality: 'audio', profileKey: 'mp3_128k', fileExtension: 'mp3', kbps: 128 },
];

/** Each profile takes this long (emulator clock) after the previous one once the upload is complete. */
export const TRANSCODE_STEP_MS = 5_000;

export const STILL_QUALITIES = [
  { quality: 'thumbnail', width: 160, height: 90 },
  { quality: '108p', width: 192, height: 108 },
  { quality: '288p', width: 512, height: 288 },
  { quality: '720p', width: 1280, height: 720 },
] as const;

/** File suffixes movingimage accepts for uploads (DOC-CREATE). */
export const UPLOAD_SUFFIXES = [
  'mp4',
  'mov',
  'flv',
  'wmv',
  'mpg',
  'avi',
  'mp3',
  'mpeg',
  'm4v',
  'vob',
  'f4v',
  'wav',
  '3gp',
  'rm',
  'mts',
  'm2v',
  'wma',
  'mxf',
  'm2p',
  'm2t',
  'mkv',
  'webm',
  'qt',
  'mp2',
  'm2ts',
  'ogv',
] as const;
export const AUDIO_SUFFIXES = ['mp3', 'wav', 'wma', 'mp2'];

export interface StillRecord {
  id: number;
  active: boolean;
  /** Position in the video (ms) the still was taken from. */
  timestamp: number;
}

export interface UploadState {
  /** Identifies one upload of one video generation (`fileId` in the upload URL). */
  fileId: string;
  totalChunks: number | null;
  /** Chunk number → bytes received. Only counts are kept, never the bytes. */
  chunks: Map<number, number>;
  complete: boolean;
}

export interface VideoRecord {
  id: string;
  title: string;
  description: string;
  createdDate: number;
  modifiedDate: number;
  uploadDate: number | null;
  length: number;
  generation: number;
  plays: number;
  views: number;
  published: boolean;
  /** Publish once the 360p rendition exists (set on create). */
  autoPublish: boolean;
  audioOnly: boolean;
  downloadable: boolean;
  archived: boolean;
  /** When the video went to the trash; `null` while it is not there. */
  trashedDate: number | null;
  vrContentType: string | null;
  /** Custom metadata field key → value (a string, or option names for MULTI_SELECT). */
  customMetadata: Record<string, string | string[]>;
  keywordIds: number[];
  stills: StillRecord[];
  channelIds: number[];
  scheduledTrashDate: string | null;
  scheduledArchiveDate: string | null;
  ownershipGroupId: number | null;
  adConfigurationId: number | null;
  relatedVideosChannelId: number | null;
  securityPolicyId: number | null;
  accessProfileId: number | null;
  owner: string;
  substituteOwners: string[];
  uploader: string;
  publicationDate: number | null;
  lastPlayedDate: number | null;
  sourceLanguage: string | null;
  uploadFileName: string | null;
  /** When the last upload completed (emulator clock); `null` before any upload. */
  uploadedAt: number | null;
  upload: UploadState | null;
  /** Attached files (`GET …/attachments`); none when absent. */
  attachments?: AttachmentRecord[] | undefined;
  /** Set corporate-tube metadata; derived from the upload while absent (see media-seed.ts). */
  corporateTube?: CorporateTubeRecord | undefined;
}

export interface ChannelRecord {
  id: number;
  name: string;
  description: string;
  parentId: number | null;
  createdDate: number;
  modifiedDate: number;
  ownerGroupId: number | null;
  /** Attached files (`GET …/channels/{id}/attachments`); none when absent. */
  attachments?: AttachmentRecord[] | undefined;
}

export interface KeywordRecord {
  id: number;
  text: string;
  type: string;
  createdAt: number;
}

export type CustomFieldType = 'TEXT' | 'SELECT' | 'MULTI_SELECT' | 'DATE_TIME';

export interface CustomFieldRecord {
  id: number;
  keyName: string;
  type: CustomFieldType;
  editable: boolean;
  options: { id: number; name: string }[];
  entityType: 'VIDEO' | 'CHANNEL';
  useDefault: boolean;
}

export interface PlayerRecord {
  id: string;
  name: string;
  active: boolean;
}

export interface MetadataSetRecord {
  id: number;
  keyName: string;
  type: 'LOCALIZATION' | 'CUSTOM';
  isDefault: boolean;
}

export interface VideoManagerRecord {
  id: number;
  name: string;
  uuid: string;
  /** `sub`s of the users who can reach this VideoManager. */
  members: string[];
  rootChannelId: number;
  /** Insertion order is the order the API answers in (it does not sort channels). */
  channels: Map<number, ChannelRecord>;
  videos: Map<string, VideoRecord>;
  keywords: Map<number, KeywordRecord>;
  customFields: CustomFieldRecord[];
  players: PlayerRecord[];
  metadataSets: MetadataSetRecord[];
  /** Attachment types; set by the seed. */
  attachmentTypes?: AttachmentTypeRecord[] | undefined;
}

export interface ApiData {
  vms: Map<number, VideoManagerRecord>;
  /** Next free ids; channel, keyword and still ids are integers, unique across VideoManagers. */
  next: { channel: number; keyword: number; still: number; video: number };
}

const demo = DEMO_USERS[0];
/** A user of the third VideoManager that no demo user can reach (for `403` answers). */
const OUTSIDER_SUB = '9d8c7b6a-5f4e-4d3c-8b2a-192837465564';

/** A video id in movingimage's form: 22 URL-safe characters, derived from a sequence number. */
export function videoIdFor(vmId: number, sequence: number): string {
  return createHash('sha256')
    .update(`vmpro-emulator:video:${vmId}:${sequence}`)
    .digest('base64url')
    .slice(0, 22);
}

/** The renditions of a video, by kind. */
export function profilesOf(video: VideoRecord): readonly Profile[] {
  return video.audioOnly ? AUDIO_PROFILES : VIDEO_PROFILES;
}

/** When profile `index` of the last upload is ready (emulator clock), or `null` before any upload. */
export function readyAt(video: VideoRecord, index: number): number | null {
  return video.uploadedAt === null ? null : video.uploadedAt + (index + 1) * TRANSCODE_STEP_MS;
}

/** Whether every rendition is ready at `now`. */
export function allFormatsAvailable(video: VideoRecord, now: number): boolean {
  const last = readyAt(video, profilesOf(video).length - 1);
  return last !== null && now >= last;
}

/**
 * Applies what the clock has made happen: an `autoPublish` video is published as soon as its
 * first (360p) rendition is ready.
 */
export function settle(video: VideoRecord, now: number): void {
  const first = readyAt(video, 0);
  if (video.autoPublish && first !== null && now >= first) {
    video.autoPublish = false;
    if (!video.published) {
      video.published = true;
      video.publicationDate = first;
    }
  }
}

/** `channelId` and every channel below it. */
export function channelAndDescendants(vm: VideoManagerRecord, channelId: number): Set<number> {
  const found = new Set<number>([channelId]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const channel of vm.channels.values()) {
      if (channel.parentId !== null && found.has(channel.parentId) && !found.has(channel.id)) {
        found.add(channel.id);
        grew = true;
      }
    }
  }
  return found;
}

/** The keyword of `text` in a VideoManager, created when new. */
export function keywordFor(data: ApiData, vm: VideoManagerRecord, text: string, now: number): KeywordRecord {
  for (const keyword of vm.keywords.values()) {
    if (keyword.text === text) return keyword;
  }
  const keyword = { id: data.next.keyword++, text, type: 'VIDEO', createdAt: now };
  vm.keywords.set(keyword.id, keyword);
  return keyword;
}

// ---------------------------------------------------------------------------------------------
// Seed
// ---------------------------------------------------------------------------------------------

const DAY = 86_400_000;
const HOUR = 3_600_000;
const SEED_EPOCH = Date.UTC(2023, 0, 9, 9, 0, 0);

/** A small deterministic generator (mulberry32) so the seed looks varied but never changes. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

function customFields(vmId: number): CustomFieldRecord[] {
  const base = (vmId - 1000) * 100;
  const options = (start: number, names: string[]) => names.map((name, i) => ({ id: start + i, name }));
  return [
    {
      id: base + 1,
      keyName: 'department',
      type: 'SELECT',
      editable: true,
      options: options(base + 11, ['Marketing', 'Sales', 'Support', 'HR']),
      entityType: 'VIDEO',
      useDefault: false,
    },
    {
      id: base + 2,
      keyName: 'languages',
      type: 'MULTI_SELECT',
      editable: true,
      options: options(base + 21, ['English', 'German', 'French']),
      entityType: 'VIDEO',
      useDefault: false,
    },
    {
      id: base + 3,
      keyName: 'reviewDate',
      type: 'DATE_TIME',
      editable: true,
      options: [],
      entityType: 'VIDEO',
      useDefault: false,
    },
    {
      id: base + 4,
      keyName: 'internalNote',
      type: 'TEXT',
      editable: true,
      options: [],
      entityType: 'VIDEO',
      useDefault: false,
    },
    {
      id: base + 5,
      keyName: 'legacyId',
      type: 'TEXT',
      editable: false,
      options: [],
      entityType: 'VIDEO',
      useDefault: false,
    },
    {
      id: base + 6,
      keyName: 'channelTopic',
      type: 'TEXT',
      editable: true,
      options: [],
      entityType: 'CHANNEL',
      useDefault: false,
    },
  ];
}

function players(vmId: number): PlayerRecord[] {
  const id = (n: number) =>
    createHash('sha256').update(`vmpro-emulator:player:${vmId}:${n}`).digest('hex').slice(0, 24);
  return [
    { id: id(1), name: 'Default player', active: true },
    { id: id(2), name: 'Inline autoplay (muted)', active: true },
    { id: id(3), name: 'Old Flash player', active: false },
  ];
}

function metadataSets(vmId: number): MetadataSetRecord[] {
  return [
    { id: vmId * 10 + 1, keyName: 'en', type: 'LOCALIZATION', isDefault: true },
    { id: vmId * 10 + 2, keyName: 'en-AU', type: 'LOCALIZATION', isDefault: false },
    { id: vmId * 10 + 3, keyName: 'de', type: 'LOCALIZATION', isDefault: false },
  ];
}

interface ChannelSeed {
  id: number;
  name: string;
  parentId: number | null;
  /** Title prefix of the videos seeded into this channel. */
  topic: string;
}

interface VmSeed {
  id: number;
  name: string;
  uuid: string;
  members: string[];
  channels: ChannelSeed[];
  videoCount: number;
}

// Children are deliberately not in alphabetical order: the real API does not sort them.
const VM_SEEDS: VmSeed[] = [
  {
    id: 1001,
    name: 'Demo Marketing',
    uuid: '3f1c2a9e-7b4d-4e8a-9c1f-5a6b7c8d9e01',
    members: [demo.sub],
    channels: [
      { id: 100, name: 'Demo Marketing', parentId: null, topic: 'Company overview' },
      { id: 103, name: 'Product Launches', parentId: 100, topic: 'Product roadmap' },
      { id: 101, name: 'Events', parentId: 100, topic: 'Event highlights' },
      { id: 102, name: 'Customer Stories', parentId: 100, topic: 'Customer story' },
      { id: 110, name: 'Launch 2024', parentId: 103, topic: 'Launch 2024 teaser' },
      { id: 111, name: 'Launch 2023', parentId: 103, topic: 'Launch 2023 recap' },
      { id: 113, name: 'Webinars', parentId: 101, topic: 'Webinar' },
      { id: 112, name: 'Trade Fairs', parentId: 101, topic: 'Trade fair booth tour' },
      { id: 114, name: 'Interviews', parentId: 102, topic: 'Customer interview' },
    ],
    videoCount: 60,
  },
  {
    id: 1002,
    name: 'Demo Training',
    uuid: '8a7b6c5d-4e3f-4a1b-8c9d-0e1f2a3b4c02',
    members: [demo.sub],
    channels: [
      { id: 200, name: 'Demo Training', parentId: null, topic: 'Training overview' },
      { id: 202, name: 'Onboarding', parentId: 200, topic: 'Onboarding lesson' },
      { id: 201, name: 'Compliance', parentId: 200, topic: 'Compliance module' },
    ],
    videoCount: 5,
  },
  {
    id: 1003,
    name: 'Other Company',
    uuid: 'c0ffee00-1234-4abc-9def-0123456789ab',
    members: [OUTSIDER_SUB],
    channels: [{ id: 300, name: 'Other Company', parentId: null, topic: 'Internal town hall' }],
    videoCount: 2,
  },
];

const SUBJECTS = [
  'Onboarding',
  'Analytics',
  'Security',
  'Live streaming',
  'Mobile app',
  'Integrations',
  'Pricing',
];
const KEYWORDS = [
  'product',
  'launch',
  'webinar',
  'tutorial',
  'onboarding',
  'customer',
  'interview',
  'event',
  'teaser',
  'behind the scenes',
  'sales',
  'support',
];
const SENTENCES = [
  'A short walk through what is new and why it matters.',
  'Recorded live; includes the questions from the audience.',
  'Two minutes of highlights for people in a hurry.',
  'Our team explains the details step by step.',
  'With subtitles in English and German.',
];

/** Builds the demo data. Same result on every call. */
export function seed(): ApiData {
  const data: ApiData = { vms: new Map(), next: { channel: 1000, keyword: 1, still: 1, video: 0 } };
  for (const vmSeed of VM_SEEDS) {
    data.vms.set(vmSeed.id, seedVm(data, vmSeed));
  }
  return data;
}

function seedVm(data: ApiData, vmSeed: VmSeed): VideoManagerRecord {
  const vm: VideoManagerRecord = {
    id: vmSeed.id,
    name: vmSeed.name,
    uuid: vmSeed.uuid,
    members: [...vmSeed.members],
    rootChannelId: vmSeed.channels[0]!.id,
    channels: new Map(),
    videos: new Map(),
    keywords: new Map(),
    customFields: customFields(vmSeed.id),
    players: players(vmSeed.id),
    metadataSets: metadataSets(vmSeed.id),
  };
  for (const [index, channel] of vmSeed.channels.entries()) {
    vm.channels.set(channel.id, {
      id: channel.id,
      name: channel.name,
      description: channel.parentId === null ? '' : `Videos about ${channel.name.toLowerCase()}.`,
      parentId: channel.parentId,
      createdDate: SEED_EPOCH - 30 * DAY + index * HOUR,
      modifiedDate: SEED_EPOCH - 30 * DAY + index * HOUR,
      ownerGroupId: null,
    });
  }
  const random = generator(vmSeed.id);
  const channelCount = vmSeed.channels.length;
  const fields = vm.customFields;
  for (let i = 0; i < vmSeed.videoCount; i++) {
    const channel = vmSeed.channels[i % channelCount]!;
    const subject = SUBJECTS[Math.floor(i / channelCount) % SUBJECTS.length]!;
    const title = `${channel.topic}: ${subject}`;
    const audioOnly = i % 13 === 5;
    const createdDate = SEED_EPOCH + i * 6 * DAY + ((i * 37) % 24) * HOUR;
    const uploadDate = createdDate + 2 * 60_000;
    const published = i % 5 !== 3 && i % 7 !== 6;
    const views = Math.floor(random() * 5000);
    const plays = Math.floor(views * 0.6);
    const owner = i % 5 === 2 ? 'marketing.team@example.com' : demo.email;
    const keywordTexts = [KEYWORDS[i % KEYWORDS.length]!, KEYWORDS[(i * 5 + 3) % KEYWORDS.length]!];
    if (i % 3 === 0) keywordTexts.push(KEYWORDS[(i * 7 + 1) % KEYWORDS.length]!);
    const customMetadata: Record<string, string | string[]> = {};
    const option = (key: string, n: number) => fields.find((f) => f.keyName === key)!.options[n]!.name;
    if (i % 2 === 0) customMetadata['department'] = option('department', (i / 2) % 4);
    if (i % 3 === 0) {
      customMetadata['languages'] =
        i % 2 === 0 ? [option('languages', 0)] : [option('languages', 0), option('languages', 1)];
    }
    if (i % 5 === 0)
      customMetadata['reviewDate'] = `2025-${String((i % 12) + 1).padStart(2, '0')}-15T10:00:00Z`;
    if (i % 11 === 0) customMetadata['internalNote'] = 'Check the music licence before re-use.';
    if (i < 10) customMetadata['legacyId'] = `LEG-${1000 + i}`;
    const length = audioOnly
      ? 60_000 + Math.round(random() * 1_200) * 1000
      : 30_000 + Math.round(random() * 2_670) * 1000;
    const stills: StillRecord[] = [
      { id: data.next.still++, active: true, timestamp: Math.floor(length / 3) },
    ];
    if (i % 6 === 0) stills.push({ id: data.next.still++, active: false, timestamp: Math.floor(length / 2) });
    const channelIds = [channel.id];
    if (i % 8 === 4 && channelCount > 1) channelIds.push(vmSeed.channels[(i + 1) % channelCount]!.id);
    const video: VideoRecord = {
      id: videoIdFor(vmSeed.id, data.next.video++),
      title,
      description: `${title}. ${SENTENCES[i % SENTENCES.length]}`,
      createdDate,
      modifiedDate: createdDate + (((i * 13) % 30) + 1) * DAY,
      uploadDate,
      length,
      generation: i % 10 === 9 ? 1 : 0,
      plays,
      views,
      published,
      autoPublish: false,
      audioOnly,
      downloadable: i % 4 !== 1,
      archived: i % 19 === 10,
      trashedDate: null,
      vrContentType: i % 17 === 4 ? '2d-equirectangular' : null,
      customMetadata,
      keywordIds: [...new Set(keywordTexts)].map((text) => keywordFor(data, vm, text, createdDate).id),
      stills,
      channelIds,
      scheduledTrashDate: i === 7 ? '2026-12-31T23:00:00Z' : null,
      scheduledArchiveDate: null,
      ownershipGroupId: 7001,
      adConfigurationId: null,
      relatedVideosChannelId: null,
      securityPolicyId: null,
      accessProfileId: null,
      owner,
      substituteOwners: i % 4 === 0 ? ['marketing.team@example.com'] : [],
      uploader: owner,
      publicationDate: published ? uploadDate + HOUR : null,
      lastPlayedDate: plays > 0 ? Date.UTC(2025, 2, 1) + i * HOUR : null,
      sourceLanguage: i % 8 === 3 ? 'de' : 'en',
      uploadFileName: `${slug(title)}.${audioOnly ? 'mp3' : 'mp4'}`,
      uploadedAt: uploadDate,
      upload: null,
    };
    vm.videos.set(video.id, video);
  }
  seedVmMedia(vm);
  return vm;
}
