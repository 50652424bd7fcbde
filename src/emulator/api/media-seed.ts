/**
 * The emulated API's attachments and corporate-tube metadata: their records, the deterministic
 * seed (called from `seed()` in `data.ts`), and the corporate-tube values a video has before
 * anyone set them. Same result on every seed: no randomness, no clock.
 */
import { createHash } from 'node:crypto';
import { DEMO_USERS } from './contract.js';
import type { VideoManagerRecord, VideoRecord } from './data.js';

/** An attachment type of a VideoManager (`Slides`, `Transcript`…). */
export interface AttachmentTypeRecord {
  /** A string, as in PHP-CLIENT's fixture. */
  id: string;
  name: string;
  allowedFileTypes: string[];
}

/** One attached file of a video or channel. Only its size is kept, never bytes. */
export interface AttachmentRecord {
  /** Attachment IDs are strings (facts 3.1). */
  id: string;
  typeId: string;
  fileName: string;
  fileSize: number;
}

/** `GET/PATCH …/videos/{id}/metadata/corporate-tube`; `null` = not set. */
export interface CorporateTubeRecord {
  /** ISO 8601, `yyyy-mm-ddThh:mm:ssZ`. */
  uploadDate: string | null;
  uploaderUserId: string | null;
  inChargeUserId: string | null;
  uploaderKeycloakUserId: string | null;
  inChargeKeycloakUserId: string | null;
}

const demo = DEMO_USERS[0];

/**
 * VideoManager Pro user IDs (numeric strings, as in PHP-CLIENT's fixture) of the e-mail addresses
 * the seed uses as owners, with the Keycloak user ID when the person can log in.
 */
const PLATFORM_USERS: Record<string, { userId: string; keycloakId: string | null }> = {
  [demo.email]: { userId: '80001', keycloakId: demo.sub },
  'marketing.team@example.com': { userId: '80002', keycloakId: null },
};

function hash(text: string): Buffer {
  return createHash('sha256').update(`vmpro-emulator:${text}`).digest();
}

/** A 22-character URL-safe ID, like movingimage's string IDs. */
function stringIdFor(text: string): string {
  return hash(text).toString('base64url').slice(0, 22);
}

/** A plausible file size between 40 kB and about 8 MB. */
function sizeFor(text: string): number {
  return 40_000 + (hash(text).readUInt32BE(0) % 8_000_000);
}

function stem(name: string | null, fallback: string): string {
  const base = (name ?? '').replace(/\.[^.]*$/, '');
  return base === '' ? fallback : base;
}

/** ISO 8601 without milliseconds, as the API writes dates in this object. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function attachmentTypes(vmId: number): AttachmentTypeRecord[] {
  return [
    { id: stringIdFor(`attachment-type:${vmId}:slides`), name: 'Slides', allowedFileTypes: ['pdf', 'pptx'] },
    {
      id: stringIdFor(`attachment-type:${vmId}:transcript`),
      name: 'Transcript',
      allowedFileTypes: ['txt', 'vtt', 'pdf'],
    },
    {
      id: stringIdFor(`attachment-type:${vmId}:handout`),
      name: 'Handout',
      allowedFileTypes: ['pdf', 'docx'],
    },
  ];
}

function attachment(owner: string, type: AttachmentTypeRecord, fileName: string): AttachmentRecord {
  const key = `attachment:${owner}:${type.name}:${fileName}`;
  return { id: stringIdFor(key), typeId: type.id, fileName, fileSize: sizeFor(key) };
}

/** The corporate-tube metadata of a video nobody has set yet: taken from its upload. */
export function defaultCorporateTube(video: VideoRecord): CorporateTubeRecord {
  const person = PLATFORM_USERS[video.uploader];
  return {
    uploadDate: video.uploadDate === null ? null : isoSeconds(video.uploadDate),
    uploaderUserId: person?.userId ?? null,
    inChargeUserId: person?.userId ?? null,
    uploaderKeycloakUserId: person?.keycloakId ?? null,
    inChargeKeycloakUserId: person?.keycloakId ?? null,
  };
}

/** The corporate-tube metadata of a video: what was set, else the default. */
export function corporateTubeOf(video: VideoRecord): CorporateTubeRecord {
  return video.corporateTube ?? defaultCorporateTube(video);
}

/**
 * Seeds attachment types, attachments of some videos and channels, and corporate-tube metadata
 * of some videos (with a person in charge other than the uploader), in place.
 */
export function seedVmMedia(vm: VideoManagerRecord): void {
  const types = attachmentTypes(vm.id);
  const [slides, transcript, handout] = types as [
    AttachmentTypeRecord,
    AttachmentTypeRecord,
    AttachmentTypeRecord,
  ];
  vm.attachmentTypes = types;
  for (const [index, video] of [...vm.videos.values()].entries()) {
    const name = stem(video.uploadFileName, video.id);
    const files: AttachmentRecord[] = [];
    if (index % 4 === 0) files.push(attachment(video.id, slides, `${name}-slides.pdf`));
    if (index % 6 === 1) files.push(attachment(video.id, transcript, `${name}-transcript.vtt`));
    if (index % 10 === 0) files.push(attachment(video.id, handout, `${name}-handout.docx`));
    video.attachments = files;
    if (index % 7 === 2) {
      video.corporateTube = {
        ...defaultCorporateTube(video),
        inChargeUserId: PLATFORM_USERS['marketing.team@example.com']!.userId,
        inChargeKeycloakUserId: null,
      };
    }
  }
  for (const [index, channel] of [...vm.channels.values()].entries()) {
    const files: AttachmentRecord[] = [];
    if (channel.parentId === null)
      files.push(attachment(`channel:${channel.id}`, handout, 'brand-guide.pdf'));
    else if (index % 2 === 1) {
      files.push(
        attachment(
          `channel:${channel.id}`,
          slides,
          `${stem(channel.name.toLowerCase(), 'channel').replace(/\s+/g, '-')}-overview.pptx`,
        ),
      );
    }
    channel.attachments = files;
  }
}
